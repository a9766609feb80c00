//go:build unix

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// editorScript is an $EDITOR that runs sed on the file it is given.
func editorScript(t *testing.T, sed string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "editor.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nsed -i '"+sed+"' \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// edit refuses what import refuses, through the same path: the save is
// unchanged, and the edit is kept where import can take it, with -force.
func TestEditRefusesATypeChangeAndKeepsTheEdit(t *testing.T) {
	dir := goodStoreCopy(t)
	slot := filepath.Join(dir, "quick")
	t.Setenv("TMPDIR", t.TempDir())
	t.Setenv("EDITOR", editorScript(t, `s/"Score": {"$float32": 200.0}/"Score": "lots"/`))
	files := snapshot(t, dir)
	code, _, errOut := runWith("", "edit", slot)
	if code != exitFailed || !strings.Contains(errOut, `.Score: was float32, now string`) {
		t.Fatalf("exit %d, want %d:\n%s", code, exitFailed, errOut)
	}
	if !sameFiles(files, snapshot(t, dir)) {
		t.Fatal("a refused edit changed the store")
	}
	m := regexp.MustCompile(`your edit is kept in (\S+): fix it, then savegame import`).FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("no kept file named:\n%s", errOut)
	}
	kept, err := os.ReadFile(m[1])
	if err != nil || !strings.Contains(string(kept), `"Score": "lots"`) {
		t.Fatalf("the kept edit: %v\n%s", err, kept)
	}
	if code, out, errOut := runWith("", "import", "-force", slot, m[1]); code != exitOK || !strings.Contains(out, "committed generation 3") {
		t.Fatalf("import -force of the kept edit: exit %d\n%s%s", code, out, errOut)
	}
}

// edit -force commits a type change; an edit that keeps the types needs
// no -force, and its temporary file is removed.
func TestEditForce(t *testing.T) {
	dir := goodStoreCopy(t)
	slot := filepath.Join(dir, "quick")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("EDITOR", editorScript(t, `s/"Level": 2/"Level": "two"/`))
	if code, out, errOut := runWith("", "edit", "-force", slot); code != exitOK || !strings.Contains(out, "committed generation 3") || !strings.Contains(errOut, ".Level: was integer, now string") {
		t.Fatalf("edit -force: exit %d\n%s%s", code, out, errOut)
	}
	t.Setenv("EDITOR", editorScript(t, `s/"Level": "two"/"Level": "three"/`))
	if code, out, errOut := runWith("", "edit", slot); code != exitOK || !strings.Contains(out, "committed generation 4") {
		t.Fatalf("edit: exit %d\n%s%s", code, out, errOut)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Fatalf("edit left %d file(s) in the temporary directory", len(left))
	}
}
