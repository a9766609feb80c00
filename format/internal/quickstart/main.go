// Command quickstart writes a save file with the format package, reads it
// back, and shows that damage is detected. It is the README's run command
// until the demo game exists.
package main

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/savekit/savekit/format"
)

type Player struct {
	Name string
	X, Y float32
	HP   int
}

type World struct {
	Player Player
	Score  int64
	Items  []string
}

func main() {
	dir, err := os.MkdirTemp("", "savekit-quickstart-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "quick.sav")

	world := World{Player: Player{Name: "Ada", X: 12.5, Y: -3, HP: 87}, Score: 4200, Items: []string{"sword", "lantern"}}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		log.Fatal(err)
	}
	h, err := format.Encode(f, format.Params{
		Schema:     1,
		Generation: 1,
		Created:    time.Now(),
		Meta:       map[string]any{"title": "Cave of Echoes", "playtime_s": 5025},
	}, &world, nil)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %s: %d bytes (header %d, metadata %d, body %d), generation %d, schema %d\n",
		filepath.Base(path), h.Size(), h.HeaderLen, h.MetaLen, h.BodyLen, h.Generation, h.Schema)

	data, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	file, err := format.Parse(data, nil)
	if err != nil {
		log.Fatal(err)
	}
	var back World
	if err := file.Decode(&back); err != nil {
		log.Fatal(err)
	}
	meta, _ := file.DecodeMeta()
	fmt.Printf("read back: %+v, metadata %v\n", back, meta)

	// A torn write: the last 16 bytes never reached the disk.
	torn := append([]byte(nil), data...)
	clear(torn[len(torn)-16:])
	_, err = format.Parse(torn, nil)
	fmt.Printf("torn file: %v (errors.Is ErrChecksum: %v)\n", err, errors.Is(err, format.ErrChecksum))
	_, err = format.Parse(data[:len(data)-10], nil)
	fmt.Printf("truncated file: %v (errors.Is ErrTruncated: %v)\n", err, errors.Is(err, format.ErrTruncated))
}
