package snapshot

import (
	"strings"
	"testing"
)

type sharedEntity struct {
	Name string
	HP   int
}

type sharedWorld struct {
	Player   *sharedEntity
	Entities []*sharedEntity
	Tables   map[string]map[string]int
	Extra    any
	cache    *sharedEntity // never encoded: sharing it is harmless
}

func TestFindShared(t *testing.T) {
	a, b := &sharedEntity{Name: "a"}, &sharedEntity{Name: "b"}
	tab := map[string]int{"x": 1}
	cases := []struct {
		name        string
		w           sharedWorld
		first, then string // "" when nothing is shared
	}{
		{"nothing shared", sharedWorld{Player: a, Entities: []*sharedEntity{b}}, "", ""},
		{"unencoded field", sharedWorld{Player: a, cache: a}, "", ""},
		{"equal but distinct", sharedWorld{Player: a, Entities: []*sharedEntity{{Name: "a"}}}, "", ""},
		{"player in entities", sharedWorld{Player: a, Entities: []*sharedEntity{b, a}}, "snapshot.sharedWorld.Player", "snapshot.sharedWorld.Entities[1]"},
		{"twice in a slice", sharedWorld{Entities: []*sharedEntity{b, nil, b}}, "snapshot.sharedWorld.Entities[0]", "snapshot.sharedWorld.Entities[2]"},
		{"a map twice", sharedWorld{Tables: map[string]map[string]int{"k": tab}, Extra: tab}, "snapshot.sharedWorld.Tables[k]", "snapshot.sharedWorld.Extra"},
		{"through an interface", sharedWorld{Player: a, Extra: []any{a}}, "snapshot.sharedWorld.Player", "snapshot.sharedWorld.Extra[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := FindShared(&c.w)
			if err != nil {
				t.Fatal(err)
			}
			if c.first == "" {
				if got != nil {
					t.Fatalf("reported %v", got)
				}
				return
			}
			if got == nil || got.First != c.first || got.Again != c.then {
				t.Fatalf("got %v, want %s and %s", got, c.first, c.then)
			}
			if !strings.Contains(got.Error(), "refer to it by an ID") {
				t.Fatalf("message without the fix: %v", got)
			}
		})
	}
}

// BenchmarkFindShared compares the sharing check with the snapshot of the
// same world (10k entities, a map each): the check's cost on the game
// thread when savegame runs it.
func BenchmarkFindShared(b *testing.B) {
	w := benchWorld(10_000)
	c, err := For[bWorld]()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("snapshot", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.Copy(w); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("find-shared", func(b *testing.B) {
		for b.Loop() {
			if s, err := FindShared(w); s != nil || err != nil {
				b.Fatal(s, err)
			}
		}
	})
}
