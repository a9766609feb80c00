package main

// usage is what -h prints. Without a display on Linux, the C constructor
// in preflight_linux.go prints its copy of the same text before Go starts;
// CI compares the two.
const usage = `demo: an arena game that saves with savekit. Arrows or WASD move, F5 saves,
F9 loads, 1-3 pick a slot, L opens the load menu, P pulls the plug (SIGKILL
in the middle of a save; the next start says whether it recovered).

Usage: go run ./demo [flags]

  -dir DIR          save directory (default: the OS convention for game saves)
  -slot NAME        slot to start on (default slot1)
  -autosave D       autosave interval, 0 for off (default 30s)
  -entities N       entities in a new world (default 10000)
  -seed N           seed of a new world (default 1)
  -smoke D          run this long, saving and loading through the keys' code,
                    then exit: 0 if both worked
  -screenshot FILE  with -smoke: write a PNG of the last frame here

The demo opens a window. Without a display (a server, a container, SSH), run
it under a virtual one (Debian: apt-get install xvfb):
  xvfb-run -a go run ./demo
or let it save, load and check itself, then exit:
  xvfb-run -a go run ./demo -smoke 5s
`
