//go:build linux && cgo

package main

// Ebitengine opens the display while Go initializes packages, before main
// runs, and panics when there is none: `go run ./demo -h` on a server
// would answer with a goroutine trace. This C constructor runs earlier,
// when the program is loaded, before any Go code: without a display it
// prints the usage (for -h) or what to do instead, and exits. With a
// display it does nothing and the Go flag package takes over, printing the
// same usage (usage.go); CI checks that the two texts are identical.

/*
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char savekit_demo_usage[] =
	"demo: an arena game that saves with savekit. Arrows or WASD move, F5 saves,\n"
	"F9 loads, 1-3 pick a slot, L opens the load menu, P pulls the plug (SIGKILL\n"
	"in the middle of a save; the next start says whether it recovered).\n"
	"\n"
	"Usage: go run ./demo [flags]\n"
	"\n"
	"  -dir DIR          save directory (default: the OS convention for game saves)\n"
	"  -slot NAME        slot to start on (default slot1)\n"
	"  -autosave D       autosave interval, 0 for off (default 30s)\n"
	"  -entities N       entities in a new world (default 10000)\n"
	"  -seed N           seed of a new world (default 1)\n"
	"  -smoke D          run this long, saving and loading through the keys' code,\n"
	"                    then exit: 0 if both worked\n"
	"  -screenshot FILE  with -smoke: write a PNG of the last frame here\n"
	"\n"
	"The demo opens a window. Without a display (a server, a container, SSH), run\n"
	"it under a virtual one (Debian: apt-get install xvfb):\n"
	"  xvfb-run -a go run ./demo\n"
	"or let it save, load and check itself, then exit:\n"
	"  xvfb-run -a go run ./demo -smoke 5s\n";

static const char savekit_demo_nodisplay[] =
	"demo: no display (DISPLAY is not set), and the demo opens a window.\n"
	"Run it under a virtual display (Debian: apt-get install xvfb):\n"
	"  xvfb-run -a go run ./demo\n"
	"or let it save, load and check itself, then exit:\n"
	"  xvfb-run -a go run ./demo -smoke 5s\n"
	"The crash proofs need no display: go run ./demo/powerloss\n"
	"go run ./demo -h lists the flags.\n";

// savekit_demo_help reports whether the command line asks for help, read
// from /proc/self/cmdline (the C library need not pass argv to
// constructors).
static int savekit_demo_help(void) {
	static char buf[65536];
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return 0;
	}
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0) {
		return 0;
	}
	buf[n] = 0;
	for (char *p = buf + strlen(buf) + 1; p < buf + n; p += strlen(p) + 1) {
		if (strcmp(p, "--") == 0) {
			break;
		}
		if (strcmp(p, "-h") == 0 || strcmp(p, "--h") == 0 || strcmp(p, "-help") == 0 || strcmp(p, "--help") == 0) {
			return 1;
		}
	}
	return 0;
}

__attribute__((constructor)) static void savekit_demo_preflight(void) {
	const char *d = getenv("DISPLAY");
	if (d != NULL && d[0] != 0) {
		return;
	}
	if (savekit_demo_help()) {
		fputs(savekit_demo_usage, stderr);
		_exit(0);
	}
	fputs(savekit_demo_nodisplay, stderr);
	_exit(1);
}
*/
import "C"
