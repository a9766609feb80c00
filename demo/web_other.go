//go:build !js

package main

// saveLocation is where the HUD says saves go: the directory.
func saveLocation(dir string) string { return dir }

// note is for web builds, where the page's console is read; nothing here.
func note(string) {}

// exposeWeb is for web builds: nothing here.
func exposeWeb(*game) {}
