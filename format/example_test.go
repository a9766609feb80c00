package format_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/savekit/savekit/format"
)

type World struct {
	Level int
	Hero  string
}

func Example() {
	data, h, err := format.Marshal(format.Params{
		Schema:     3,
		Generation: 12,
		Created:    time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC),
		Meta:       map[string]any{"title": "Cave of Echoes"},
	}, World{Level: 4, Hero: "Ada"}, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println("file bytes:", h.Size(), len(data))

	f, err := format.Parse(data, nil)
	if err != nil {
		panic(err)
	}
	var w World
	if err := f.Decode(&w); err != nil {
		panic(err)
	}
	meta, _ := f.DecodeMeta()
	fmt.Println(f.Header.Generation, f.Header.Schema, w.Hero, w.Level, meta["title"])

	data[len(data)-1] ^= 0xff // a damaged byte at the end of the body
	_, err = format.Parse(data, nil)
	fmt.Println(errors.Is(err, format.ErrChecksum))
	// Output:
	// file bytes: 119 119
	// 12 3 Ada 4 Cave of Echoes
	// true
}
