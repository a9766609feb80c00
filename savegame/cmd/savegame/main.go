// Command savegame inspects, dumps, edits, imports and repairs savekit saves.
//
//	savegame list DIR               every slot: generation, time, size, schema, status, metadata
//	savegame inspect PATH           a .sav file, a .ptr file, or DIR/SLOT: every field and check
//	savegame verify DIR             exit 0 only if every slot loads
//	savegame dump PATH [-meta]      read a save (DIR/SLOT: the one the game loads) as JSON; import writes it back
//	savegame edit DIR/SLOT          edit the JSON in $EDITOR and commit it as a new generation
//	savegame import DIR/SLOT [FILE.json|-]  commit JSON (default: standard input) as a new generation
//	savegame pack FILE.json -o FILE.sav [-schema N] [-generation N] [-created RFC3339] [-meta META.json]
//	savegame unpack FILE.sav [-o FILE.json] [-meta]   one file as JSON that pack rebuilds byte for byte
//	savegame repair DIR             remove temporaries, rewrite damaged pointers
//
// list, inspect and verify take -json. Read-only commands work while a game
// has the store open; edit, import and repair take its lock and say so when
// the game holds it. edit and import keep the slot's schema and metadata
// (-schema and -meta replace them) and refuse a body in which a value
// changed type or a field was removed, since the game would not load it
// (-force commits it anyway); docs/modding.md states the rule. A slot name
// may not start with '-'.
//
// Exit status: 0 success; 1 a save is damaged (inspect: any file of it;
// verify: a slot that does not load); 2 bad usage; 3 the operation failed
// (I/O, locked by a running game, bad input).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit statuses.
const (
	exitOK      = 0
	exitDamaged = 1
	exitUsage   = 2
	exitFailed  = 3
)

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

type command struct {
	name, args, help string
	run              func(args []string, stdout, stderr io.Writer) int
	example          string
	details          string // -h only, after help
}

func commands() []command {
	return []command{
		{"list", "DIR", "every slot with generation, time, size, schema, status and metadata", cmdList,
			"savegame list -json ~/.local/share/mygame/saves", ""},
		{"inspect", "PATH", "a slot file, a pointer file, or DIR/SLOT: header fields, checksums, the pointer, both slots", cmdInspect,
			"savegame inspect saves/quick", ""},
		{"verify", "DIR", "exit 0 only if every slot loads; otherwise say why", cmdVerify,
			"savegame verify saves && echo all good", ""},
		{"dump", "PATH", "read a save as JSON (with -meta, its metadata): of DIR/SLOT, the save the game would load; import writes it back", cmdDump,
			"savegame dump saves/quick | jq .Player", ""},
		{"edit", "DIR/SLOT", "edit the save as JSON in $EDITOR and commit it as a new generation", cmdEdit,
			"EDITOR=nano savegame edit saves/quick", writeDetails +
				" An edit that cannot be committed is kept in its temporary file, for import."},
		{"import", "DIR/SLOT [FILE.json|-]", "commit JSON in dump's form to the slot as a new generation", cmdImport,
			"savegame dump saves/quick | jq '.Score = 9' | savegame import saves/quick -",
			"The JSON is read from FILE.json, or from standard input when FILE.json is - or absent. " + writeDetails},
		{"pack", "FILE.json", "make a save file from JSON", cmdPack,
			"savegame pack world.json -schema 3 -o quick.0.sav", ""},
		{"unpack", "FILE.sav", "turn one .sav file into JSON (with -o, to a file) that pack rebuilds byte for byte", cmdUnpack,
			"savegame unpack saves/quick.1.sav -o world.json", ""},
		{"repair", "DIR", "remove temporaries and rewrite missing or damaged pointers; never deletes a valid save", cmdRepair,
			"savegame repair saves", ""},
	}
}

// writeDetails is what edit and import share, for their -h.
const writeDetails = "The slot's schema and metadata are kept unless -schema or -meta replace them. " +
	"A value whose type changed (\"Score\": 5000 to \"lots\") or a field that was removed, compared with the slot's save, " +
	"is refused, naming each place, since the game would not load it; -force commits it anyway. " +
	"The store's lock is taken: close the game first."

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	editorIn = stdin
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "savegame: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

// commandUsage is a command's -h: what it does, its arguments, an example,
// then its flags.
func commandUsage(fs *flag.FlagSet) func() {
	return func() {
		w := fs.Output()
		for _, c := range commands() {
			if c.name == fs.Name() {
				fmt.Fprintf(w, "usage: savegame %s [flags] %s\n\n%s.\n", c.name, c.args, c.help)
				if c.details != "" {
					fmt.Fprintf(w, "\n%s\n", wrap(c.details, 76))
				}
				fmt.Fprintf(w, "\nexample:\n  %s\n", c.example)
			}
		}
		var n int
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(w, "\nflags:")
			fs.PrintDefaults()
		}
		fmt.Fprintln(w, "\nexit status: 0 ok, 1 a save is damaged, 2 usage, 3 failure")
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: savegame COMMAND [flags] ARGS   (savegame COMMAND -h for its flags)")
	for _, c := range commands() {
		args, help := c.args, c.help
		name := c.name
		if len(args) > 10 {
			// A long argument list gets its own line, keeping the
			// column of descriptions.
			fmt.Fprintf(w, "  %-8s %s\n", name, args)
			name, args = "", ""
		}
		fmt.Fprintf(w, "  %-8s %-10s %s\n", name, args, help)
	}
	fmt.Fprintln(w, "exit status: 0 ok, 1 a save is damaged, 2 usage, 3 failure")
}

// wrap breaks s into lines of at most width bytes, at spaces.
func wrap(s string, width int) string {
	var b strings.Builder
	n := 0
	for _, word := range strings.Fields(s) {
		switch {
		case n == 0:
		case n+1+len(word) > width:
			b.WriteByte('\n')
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += len(word)
	}
	return b.String()
}
