package savegame

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/savekit/savekit/format"
	"github.com/savekit/savekit/snapshot"
)

// modes are the two ways a Store takes a world on the caller.
var modes = []struct {
	name string
	opts Options
}{{"snapshot", Options{}}, {"encode on caller", Options{EncodeOnCaller: true}}}

// checkNeverUnloadable saves good (which must be acknowledged) and then
// bad into slot "s", and checks the promise either way: a save that is
// acknowledged loads; a refused one fails with ErrUnloadable, its error
// containing want, and the previous save still loads as generation 1.
// It returns whether bad was refused.
func checkNeverUnloadable[T any](t *testing.T, s *Store[T], good, bad *T, goodMeta, badMeta map[string]any, want string) bool {
	t.Helper()
	if err := s.Save("s", good, &SaveOptions{Meta: goodMeta}).Wait(bg); err != nil {
		t.Fatalf("good save: %v", err)
	}
	p := s.Save("s", bad, &SaveOptions{Meta: badMeta})
	err := p.Wait(bg)
	got, info, lerr := s.Load(context.Background(), "s")
	if err == nil {
		// Acknowledged: it must load, as the new generation.
		if lerr != nil || info.Generation != p.Generation() || info.Recovered {
			t.Fatalf("acknowledged as generation %d, then Load: %+v %v", p.Generation(), info, lerr)
		}
		return false
	}
	kind := ErrUnloadable
	if badMeta != nil {
		kind = ErrMetadata
	}
	if !errors.Is(err, kind) || !strings.Contains(err.Error(), want) {
		t.Fatalf("refused with %v; want %v naming %s", err, kind, want)
	}
	if lerr != nil || info.Generation != 1 || info.Recovered || !reflect.DeepEqual(*got, *good) {
		t.Fatalf("after a refused save, Load: %#v %+v %v; want the previous save, generation 1", got, info, lerr)
	}
	return true
}

// TestInterfaceHeldMapsNeverPanicAndNeverSaveUnloadable: a Store[any]
// holding map[int]string or []any{map[int]int{1: 2}} used to panic inside
// Save (snapshot); with EncodeOnCaller it was acknowledged and then never
// loaded. Now the save either loads or is refused, naming the part.
func TestInterfaceHeldMapsNeverPanicAndNeverSaveUnloadable(t *testing.T) {
	values := []struct {
		v    any
		want string // the path named if refused
	}{
		{map[int]string{1: "a", 300: "b"}, "interface {} (map[int]string)"},
		{[]any{"ok", map[int]int{1: 2}}, "interface {}[1] (map[int]int)"},
		{map[string]any{"fine": 1, "bad": map[int]int{1: 2}}, "interface {}[bad] (map[int]int)"},
	}
	for _, m := range modes {
		for _, c := range values {
			t.Run(fmt.Sprintf("%s/%T", m.name, c.v), func(t *testing.T) {
				o := m.opts
				s, err := Open[any](t.TempDir(), &o)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close(bg)
				var good, bad any = map[string]any{"level": "one"}, c.v
				want := c.want
				if m.opts.EncodeOnCaller {
					want = "does not decode back into interface {}"
				}
				checkNeverUnloadable(t, s, &good, &bad, nil, nil, want)
			})
		}
	}
}

// TestAnyFieldInTypedWorldIsProved: an `any` field of a typed world is
// decoded generically by Load; what it holds is proved at Save and the
// refusal names the field's path.
func TestAnyFieldInTypedWorldIsProved(t *testing.T) {
	type inner struct{ Extra any }
	type world struct {
		Level int
		Parts []inner
		ByKey map[string]*inner
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			o := m.opts
			s, err := Open[world](t.TempDir(), &o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(bg)
			good := &world{Level: 1, Parts: []inner{{Extra: "x"}}}
			bad := &world{Level: 2, Parts: []inner{{Extra: "x"}}, ByKey: map[string]*inner{"k": {Extra: []any{map[int]string{1: "a"}}}}}
			want := "world.ByKey[k].Extra[0] (map[int]string)"
			if m.opts.EncodeOnCaller {
				want = "does not decode back into savegame.world"
			}
			checkNeverUnloadable(t, s, good, bad, nil, nil, want)
		})
	}
}

// TestMetadataIsProvedBeforeAcknowledgement: metadata Load cannot decode
// was acknowledged, then the slot never loaded. Now it is refused on the
// caller (the Pending fails at once), naming the key, and nothing is
// written; once generic decoding reads integer-keyed maps, the same save
// is acknowledged and loads.
func TestMetadataIsProvedBeforeAcknowledgement(t *testing.T) {
	metas := []struct {
		name string
		meta map[string]any
		key  string
	}{
		{"integer-keyed map", map[string]any{"title": "ok", "scores": map[int]int{1: 2}}, `"scores"`},
		{"bool-keyed map", map[string]any{"flags": map[any]any{true: 1}}, `"flags"`},
		{"nested in a slice", map[string]any{"z": []any{1, map[int]string{2: "b"}}}, `"z"`},
	}
	for _, m := range modes {
		for _, c := range metas {
			t.Run(m.name+"/"+c.name, func(t *testing.T) {
				o := m.opts
				s := open(t, t.TempDir(), &o)
				defer s.Close(bg)
				w := newWorld(1, 3)
				if !checkNeverUnloadable(t, s, w, newWorld(1, 4), map[string]any{"title": "good"}, c.meta, "key "+c.key) {
					return
				}
				// Refused on the caller: nothing was queued, List still
				// shows the previous save's metadata.
				list, err := s.List(context.Background())
				if err != nil || len(list) != 1 || list[0].Meta["title"] != "good" || list[0].Generation != 1 {
					t.Fatalf("list after a refused save: %+v %v", list, err)
				}
			})
		}
	}
}

// TestMetadataIsCopiedAtSave: the metadata written is the map as it was at
// Save, not as the caller changed it afterwards (it used to be encoded on
// the writer from the caller's own map, a data race).
func TestMetadataIsCopiedAtSave(t *testing.T) {
	s := open(t, t.TempDir(), nil)
	defer s.Close(bg)
	meta := map[string]any{"title": "before", "tags": []any{"a"}}
	p := s.Save("s", newWorld(1, 1), &SaveOptions{Meta: meta})
	meta["title"] = "after"
	meta["tags"].([]any)[0] = "changed"
	if err := p.Wait(bg); err != nil {
		t.Fatal(err)
	}
	_, info, err := s.Load(context.Background(), "s")
	if err != nil || info.Meta["title"] != "before" || info.Meta["tags"].([]any)[0] != "a" {
		t.Fatalf("%+v %v", info.Meta, err)
	}
}

// Scene is an interface with methods, like a game's current screen.
type Scene interface{ Update() error }

type titleScene struct{ Frame int }

func (*titleScene) Update() error { return nil }

// hiddenState keeps its state in unexported fields, which msgpack never
// saves.
type hiddenState struct {
	level int
	score int
}

var _ = hiddenState{level: 1, score: 2} // the game uses the fields; msgpack never sees them

type complexField struct{ Z complex128 }

// textOnly encodes itself as text but has no way to decode: every Load
// of a world holding one would fail.
type textOnly struct{ R, G, B uint8 }

func (c textOnly) MarshalText() ([]byte, error) { return []byte(fmt.Sprint(c.R, c.G, c.B)), nil }

// TestOpenRefusesWorldsNoSaveOfWhichLoads: each world type here opened
// fine and saved, and then every Load failed or loaded nothing. Open now
// refuses them, naming the field and the fix that works.
func TestOpenRefusesWorldsNoSaveOfWhichLoads(t *testing.T) {
	type sceneWorld struct {
		Level   int
		Current Scene
	}
	type funcWorld struct {
		Level  int
		OnDone func()
	}
	type chanWorld struct{ Events chan int }
	type nestedHidden struct {
		Level int
		State hiddenState
	}
	type mutexWorld struct {
		Level int
		Mu    sync.Mutex
	}
	type colorWorld struct{ Tint textOnly }
	cases := []struct {
		name string
		open func(t *testing.T, o *Options) error
		want []string
		not  string
	}{
		{"interface field", openErr[sceneWorld], []string{"sceneWorld.Current (savegame.Scene)", "msgpack:\"-\"", "concrete type", "CustomDecoder", "savegame.sceneWorld"}, ""},
		{"interface in a slice", openErr[struct{ Scenes []Scene }], []string{".Scenes[] (savegame.Scene)"}, ""},
		{"func field", openErr[funcWorld], []string{"funcWorld.OnDone (func())", "msgpack:\"-\"", "EncodeOnCaller would not help"}, "or set Options.EncodeOnCaller"},
		{"chan field", openErr[chanWorld], []string{"chanWorld.Events (chan int)", "msgpack:\"-\""}, "or set Options.EncodeOnCaller"},
		{"all fields unexported", openErr[hiddenState], []string{"savegame.hiddenState", "none of its 2 fields is saved", "export"}, ""},
		{"nested, all unexported", openErr[nestedHidden], []string{"nestedHidden.State (savegame.hiddenState)", "none of its 2 fields"}, ""},
		{"a mutex", openErr[mutexWorld], []string{"mutexWorld.Mu (sync.Mutex)", "msgpack:\"-\""}, ""},
		{"complex number", openErr[complexField], []string{"complexField.Z (complex128)", "two float fields"}, ""},
		{"encodes, cannot decode", openErr[colorWorld], []string{"colorWorld.Tint (savegame.textOnly)", "its zero value encodes but does not decode back"}, ""},
	}
	for _, m := range modes {
		for _, c := range cases {
			t.Run(m.name+"/"+c.name, func(t *testing.T) {
				o := m.opts
				err := c.open(t, &o)
				if !errors.Is(err, ErrUnloadable) || !containsAll(err.Error(), c.want...) || (c.not != "" && strings.Contains(err.Error(), c.not)) {
					t.Fatalf("Open: %v\nwant ErrUnloadable with %q", err, c.want)
				}
			})
		}
	}
}

func openErr[T any](t *testing.T, o *Options) error {
	s, err := Open[T](t.TempDir(), o)
	if err == nil {
		s.Close(bg)
		return errors.New("opened")
	}
	return err
}

// TestOpenAcceptsWhatLoads: the fixes the errors suggest work, and what
// msgpack can save and load opens as before.
func TestOpenAcceptsWhatLoads(t *testing.T) {
	type fixed struct {
		Level   int
		Current Scene      `msgpack:"-"`
		OnDone  func()     `msgpack:"-"`
		Mu      sync.Mutex `msgpack:"-"`
		Extra   any
		Items   []any
		Scene   *titleScene
		ByID    map[int]string
		Empty   struct{}
		hidden  int // not saved, and not a problem: Level is
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			o := m.opts
			s, err := Open[fixed](t.TempDir(), &o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(bg)
			w := &fixed{hidden: 1, Level: 3, Extra: "x", Items: []any{1, "a"}, Scene: &titleScene{Frame: 2}, ByID: map[int]string{7: "seven"}}
			if err := s.Save("s", w, nil).Wait(bg); err != nil {
				t.Fatal(err)
			}
			got, _, err := s.Load(context.Background(), "s")
			if err != nil || got.Level != 3 || got.Scene.Frame != 2 || got.ByID[7] != "seven" || got.Extra != "x" {
				t.Fatalf("%+v %v", got, err)
			}
		})
	}
}

// panicky panics while encoding when Boom is set: a bug in a game's own
// marshal code, reached on the caller with EncodeOnCaller.
type panicky struct{ Boom bool }

func (p *panicky) EncodeMsgpack(enc *msgpack.Encoder) error {
	if p.Boom {
		panic("marshal bug")
	}
	return enc.EncodeBool(p.Boom)
}

func (p *panicky) DecodeMsgpack(dec *msgpack.Decoder) (err error) {
	p.Boom, err = dec.DecodeBool()
	return err
}

// flatPanicky is pointer-free, so the snapshot copies it by value and its
// MarshalText runs on the writer goroutine, inside the commit.
type flatPanicky struct{ N int }

func (f flatPanicky) MarshalText() ([]byte, error) {
	if f.N == 13 {
		panic("marshal bug")
	}
	return []byte(fmt.Sprint(f.N)), nil
}

func (f *flatPanicky) UnmarshalText(b []byte) error {
	_, err := fmt.Sscan(string(b), &f.N)
	return err
}

// TestSavePanicsBecomeFailedPendings: a panic while copying or encoding
// the world, on the caller or on the writer, fails the save's Pending
// with ErrPanic; the game goes on, the previous save loads, and the next
// save succeeds.
func TestSavePanicsBecomeFailedPendings(t *testing.T) {
	t.Run("on the caller", func(t *testing.T) {
		type world struct{ P panicky }
		s, err := Open[world](t.TempDir(), &Options{EncodeOnCaller: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close(bg)
		checkPanicFails(t, s, &world{}, &world{P: panicky{Boom: true}}, "while copying or encoding the world")
	})
	t.Run("on the writer", func(t *testing.T) {
		type world struct{ F flatPanicky }
		s, err := Open[world](t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close(bg)
		checkPanicFails(t, s, &world{F: flatPanicky{N: 1}}, &world{F: flatPanicky{N: 13}}, "while proving or encoding it")
	})
}

func checkPanicFails[T any](t *testing.T, s *Store[T], good, bad *T, want string) {
	t.Helper()
	if err := s.Save("s", good, nil).Wait(bg); err != nil {
		t.Fatal(err)
	}
	err := s.Save("s", bad, nil).Wait(bg)
	if !errors.Is(err, ErrPanic) || !containsAll(err.Error(), want, "marshal bug") {
		t.Fatalf("save of a panicking world: %v", err)
	}
	got, info, err := s.Load(context.Background(), "s")
	if err != nil || info.Generation != 1 || !reflect.DeepEqual(*got, *good) {
		t.Fatalf("after the panic: %+v %+v %v", got, info, err)
	}
	p := s.Save("s", good, nil)
	if err := p.Wait(bg); err != nil {
		t.Fatalf("the save after the panic: %v", err)
	}
	if _, info, err := s.Load(context.Background(), "s"); err != nil || info.Generation != p.Generation() {
		t.Fatalf("load after the next save: %+v %v", info, err)
	}
}

type sharedMob struct{ HP int }

// TestSharedPointersAreReported: a pointer reachable from two fields
// saves (the data is all there) but is reported once, naming both paths,
// through OnWarning and Warnings.
func TestSharedPointersAreReported(t *testing.T) {
	type world struct {
		Player *sharedMob
		Mobs   []*sharedMob
	}
	var mu sync.Mutex
	var got []error
	s, err := Open[world](t.TempDir(), &Options{OnWarning: func(slot string, err error) {
		mu.Lock()
		got = append(got, err)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(bg)
	if err := s.Save("s", &world{Player: &sharedMob{HP: 1}, Mobs: []*sharedMob{{HP: 2}}}, nil).Wait(bg); err != nil {
		t.Fatal(err)
	}
	if len(s.Warnings()) != 0 {
		t.Fatalf("warnings without sharing: %v", s.Warnings())
	}
	hero := &sharedMob{HP: 5}
	w := &world{Player: hero, Mobs: []*sharedMob{{HP: 2}, hero}}
	for range 3 {
		if err := s.Save("t", w, nil).Wait(bg); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || !errors.Is(got[0], ErrShared) {
		t.Fatalf("OnWarning: %v, want ErrShared", got)
	}
	var se *snapshot.SharedError
	if len(got) != 1 || !errors.As(got[0], &se) || se.First != "savegame.world.Player" || se.Again != "savegame.world.Mobs[1]" {
		t.Fatalf("OnWarning: %v", got)
	}
	if ws := s.Warnings(); len(ws) != 1 || ws[0] != got[0] {
		t.Fatalf("Warnings: %v", ws)
	}
	loaded, _, err := s.Load(context.Background(), "t")
	if err != nil || loaded.Player.HP != 5 || loaded.Mobs[1].HP != 5 || loaded.Player == loaded.Mobs[1] {
		t.Fatalf("load: %+v %v", loaded, err)
	}
}

// sparseItem is 512 bytes whose zero value encodes as an empty map.
type sparseItem struct {
	A, B, C, D, E, F, G, H       string `msgpack:",omitempty"`
	I, J, K, L, M, N, O, P       string `msgpack:",omitempty"`
	Q, R, S, T, U, V, W, X       string `msgpack:",omitempty"`
	Y, Z, AA, AB, AC, AD, AE, AF string `msgpack:",omitempty"`
}

type sparseWorld struct{ Items []sparseItem }

// TestSaveOverTheDecodeBoundIsRefused: a world whose save would decode
// into more memory than Limits allow (20 KB of empty maps, 10 MB of
// structs) is refused with ErrTooLarge, as Load would refuse it; the
// previous save still loads, and the same world saves under a larger
// allowance.
func TestSaveOverTheDecodeBoundIsRefused(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			o := m.opts
			o.Limits = &Limits{ExpansionSlack: 2 << 20}
			dir := t.TempDir()
			s, err := Open[sparseWorld](dir, &o)
			if err != nil {
				t.Fatal(err)
			}
			good := &sparseWorld{Items: []sparseItem{{A: "a"}}}
			if err := s.Save("s", good, nil).Wait(bg); err != nil {
				t.Fatal(err)
			}
			bad := &sparseWorld{Items: make([]sparseItem, 20000)}
			err = s.Save("s", bad, nil).Wait(bg)
			if !errors.Is(err, format.ErrTooLarge) || !strings.Contains(err.Error(), "savegame.sparseWorld") {
				t.Fatalf("save over the bound: %v, want ErrTooLarge naming the world type", err)
			}
			got, info, err := s.Load(context.Background(), "s")
			if err != nil || info.Generation != 1 || info.Recovered || len(got.Items) != 1 {
				t.Fatalf("after the refusal, Load: %+v %v", info, err)
			}
			s.Close(bg)
			o.Limits = &Limits{ExpansionSlack: 64 << 20}
			s, err = Open[sparseWorld](dir, &o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(bg)
			if err := s.Save("s", bad, nil).Wait(bg); err != nil {
				t.Fatalf("under a larger allowance: %v", err)
			}
			if got, _, err := s.Load(context.Background(), "s"); err != nil || len(got.Items) != 20000 {
				t.Fatalf("Load under a larger allowance: %v", err)
			}
		})
	}
}
