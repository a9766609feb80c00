// Command demo is a small arena game that saves with savekit: arrows or
// WASD move, F5 quick-saves, F9 loads, 1-3 pick a slot, L opens the load
// menu, P pulls the plug (kills the game with SIGKILL in the middle of a
// save; the next start says whether it recovered). The HUD shows the
// committed generation and slot file (A/B), what the last save cost the
// game thread and how long until it was durable, and the last 60 saves.
//
//	go run ./demo [-dir DIR] [-slot NAME] [-autosave 30s] [-entities 10000] [-seed 1]
//	go run ./demo -smoke 5s -screenshot shot.png   # headless check: exits 0 if save and load worked
//
// It needs a display; without one (DISPLAY unset on Linux) it prints what
// to do instead, xvfb-run and -smoke, and -h still works (preflight_linux.go).
// In a browser: go run ./demo/web (docs/web.md); the HUD then says saves go
// to IndexedDB, and the page's button downloads the current save.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"os"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/ebitenutil"
	"github.com/hajimehoshi/ebiten/v2/inpututil"
	"github.com/hajimehoshi/ebiten/v2/vector"

	"github.com/savekit/savekit/demo/world"
	"github.com/savekit/savekit/savegame"
)

type options struct {
	dir        string
	slot       string
	autosave   time.Duration
	entities   int
	seed       uint64
	smoke      time.Duration
	screenshot string
}

func main() {
	var o options
	flag.StringVar(&o.dir, "dir", "", "save directory (default: the OS convention for game saves)")
	flag.StringVar(&o.slot, "slot", "slot1", "slot to start on")
	flag.DurationVar(&o.autosave, "autosave", 30*time.Second, "autosave interval (0: off)")
	flag.IntVar(&o.entities, "entities", 10000, "entities in a new world")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of a new world")
	flag.DurationVar(&o.smoke, "smoke", 0, "run this long, saving and loading through the keys' code, then exit (0 if both worked)")
	flag.StringVar(&o.screenshot, "screenshot", "", "with -smoke: write a PNG of the last frame here")
	flag.Usage = func() { fmt.Fprint(flag.CommandLine.Output(), usage) }
	flag.Parse()
	if o.dir == "" {
		d, err := savegame.DefaultDir("savekit-demo")
		if err != nil {
			log.Fatal(err)
		}
		o.dir = d
	}
	g, err := newGame(o)
	if err != nil {
		log.Fatal(err)
	}
	exposeWeb(g)
	ebiten.SetWindowSize(world.Width, world.Height)
	ebiten.SetWindowTitle("savekit demo")
	ebiten.SetTPS(world.TicksPerSecond)
	ebiten.SetWindowClosingHandled(true) // Update saves before the window goes
	err = ebiten.RunGame(g)
	// Every save made, the one on closing too, is durable before exit;
	// bounded, so a dead disk cannot hold the window open forever.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if cerr := g.store.Close(ctx); cerr != nil {
		log.Print(cerr)
	}
	cancel()
	if err != nil && !errors.Is(err, ebiten.Termination) {
		log.Fatal(err)
	}
	if o.smoke > 0 {
		fmt.Println(g.smokeReport())
		if !g.smokeOK() {
			os.Exit(1)
		}
	}
}

// saveRecord is one save for the HUD's graph.
type saveRecord struct {
	caller time.Duration     // on the game thread
	acked  time.Duration     // until durable, once known
	p      *savegame.Pending // until resolved
}

type game struct {
	o       options
	store   *savegame.Store[world.World]
	w       *world.World
	slot    string
	where   string // where saves go, for the HUD
	pending *savegame.Pending
	saveAt  time.Time
	history []saveRecord
	gen     uint64
	file    int
	banner  string
	bannerT time.Time
	menu    []savegame.SlotInfo
	menuCh  chan []savegame.SlotInfo       // List's result, from refreshMenu
	listing bool                           // a refreshMenu is under way
	loading *savegame.Loading[world.World] // F9's load, under way
	loadErr error                          // the last load's error
	// noAutosave: the slot held a save that did not load at start;
	// autosave must not overwrite it.
	noAutosave bool
	menuOn     bool
	lastAuto   time.Time
	dot        *ebiten.Image

	// smoke mode
	start        time.Time
	smokePending *savegame.Pending // the smoke test's own save
	smokeGen     uint64            // its generation, once acknowledged
	smokeSaved   bool
	smokeLoaded  bool
	smokeShot    bool
	smokeErr     error
	smokeDigest  uint64 // the world the smoke test's first save holds
}

func newGame(o options) (*game, error) {
	store, err := savegame.Open[world.World](o.dir, &savegame.Options{Schema: 1})
	if err != nil {
		return nil, err
	}
	g := &game{o: o, store: store, slot: o.slot, where: saveLocation(o.dir), lastAuto: time.Now(), start: time.Now(), menuCh: make(chan []savegame.SlotInfo, 1)}
	g.dot = ebiten.NewImage(3, 3)
	g.dot.Fill(color.White)
	w, info, err := store.Load(context.Background(), g.slot)
	switch {
	case errors.Is(err, savegame.ErrNotFound):
		g.w = world.New(o.seed, o.entities)
		g.say("New game: no save in " + g.slot)
	case err != nil:
		// The slot holds a save this build cannot load (damaged, another
		// world type, a newer version): play on, but never autosave over
		// it; F5 still saves there on purpose.
		g.w = world.New(o.seed, o.entities)
		g.noAutosave = true
		g.say("Could not load " + g.slot + " (autosave off): " + err.Error())
	default:
		g.w, g.gen, g.file = w, info.Generation, info.File
		if info.Recovered {
			g.say(fmt.Sprintf("Recovered: the newest save of %s could not be used; loaded generation %d. (%s)", g.slot, info.Generation, info.Reason))
		} else {
			g.say(fmt.Sprintf("Loaded %s generation %d", g.slot, info.Generation))
		}
	}
	return g, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (g *game) say(s string) {
	g.banner, g.bannerT = s, time.Now()
	note(s)
}

// saveMeta is what the load menu shows of each save, read through List
// without loading the world.
type saveMeta struct {
	Title     string  `msgpack:"title"`
	PlayTime  float64 `msgpack:"play_time"`
	Score     int64   `msgpack:"score"`
	SavedUnix int64   `msgpack:"saved_unix"`
}

// quickSave is what F5 and autosave do.
func (g *game) quickSave() {
	t0 := time.Now()
	p := g.store.Save(g.slot, g.w, &savegame.SaveOptions{Meta: saveMeta{
		Title:     fmt.Sprintf("%s, tick %d", g.slot, g.w.Tick),
		PlayTime:  g.w.PlayTime(),
		Score:     g.w.Score,
		SavedUnix: time.Now().Unix(),
	}})
	caller := time.Since(t0)
	g.pending, g.saveAt = p, t0
	g.history = append(g.history, saveRecord{caller: caller, p: p})
	if len(g.history) > 60 {
		g.history = g.history[1:]
	}
}

// load is what F9 does: it starts loading the slot on its own goroutine
// and returns; the game keeps drawing frames (the HUD says "loading") and
// poll takes the world once it is there. Load sees the save just made,
// even one still being written: it waits for it, off the game thread.
func (g *game) load() {
	if g.loading != nil {
		return
	}
	g.loading = g.store.LoadAsync(context.Background(), g.slot)
	g.say("Loading " + g.slot + "...")
}

// loaded takes a finished load's result.
func (g *game) loaded() {
	w, info, err := g.loading.Result()
	g.loading, g.loadErr = nil, err
	if err != nil {
		g.say("Load " + g.slot + ": " + err.Error())
		return
	}
	g.w, g.gen, g.file = w, info.Generation, info.File
	msg := fmt.Sprintf("Loaded %s generation %d", g.slot, info.Generation)
	if info.Recovered {
		msg = "Recovered: " + msg + " (" + info.Reason + ")"
	}
	g.say(msg)
}

// poll records finished saves: every one in the graph, and the newest
// for the HUD's generation and file.
func (g *game) poll() {
	if g.loading != nil && g.loading.Ready() {
		g.loaded()
	}
	select {
	case g.menu = <-g.menuCh:
		g.listing = false
	default:
	}
	for i := range g.history {
		h := &g.history[i]
		if h.p == nil {
			continue
		}
		select {
		case <-h.p.Done():
		default:
			continue
		}
		if h.p.Err() == nil {
			h.acked = h.p.Stats().Total
		}
		h.p = nil
	}
	if g.pending == nil {
		return
	}
	select {
	case <-g.pending.Done():
	default:
		return
	}
	p := g.pending
	g.pending = nil
	if err := p.Err(); err != nil {
		g.say("Save failed: " + err.Error())
		return
	}
	g.gen, g.file = p.Generation(), p.Stats().File
	st := p.Stats()
	note(fmt.Sprintf("Saved %s generation %d: %d bytes, %.1f ms to durable (snapshot %.1f, check %.1f, encode %.1f, write %.1f, sync %.1f)",
		g.slot, g.gen, st.Bytes, ms(st.Total), ms(st.Snapshot), ms(st.Check), ms(st.Encode), ms(st.Write), ms(st.Sync)))
	if g.menuOn {
		g.refreshMenu() // an open load menu shows the save just made
	}
}

func (g *game) Update() error {
	if ebiten.IsWindowBeingClosed() {
		// Closing the window saves the world as it is; main's Close then
		// waits for that save to be durable before the process exits.
		if !g.noAutosave {
			g.quickSave()
		}
		return ebiten.Termination
	}
	if g.o.smoke > 0 {
		if err := g.smokeStep(); err != nil || g.smokeShot {
			return ebiten.Termination
		}
	}
	in := world.Input{
		Left:  ebiten.IsKeyPressed(ebiten.KeyArrowLeft) || ebiten.IsKeyPressed(ebiten.KeyA),
		Right: ebiten.IsKeyPressed(ebiten.KeyArrowRight) || ebiten.IsKeyPressed(ebiten.KeyD),
		Up:    ebiten.IsKeyPressed(ebiten.KeyArrowUp) || ebiten.IsKeyPressed(ebiten.KeyW),
		Down:  ebiten.IsKeyPressed(ebiten.KeyArrowDown) || ebiten.IsKeyPressed(ebiten.KeyS),
	}
	g.w.Step(in)
	g.poll()
	for i, k := range []ebiten.Key{ebiten.Key1, ebiten.Key2, ebiten.Key3} {
		if inpututil.IsKeyJustPressed(k) {
			g.slot = fmt.Sprintf("slot%d", i+1)
			g.say("Slot " + g.slot)
		}
	}
	if inpututil.IsKeyJustPressed(ebiten.KeyF5) {
		g.quickSave()
	}
	if inpututil.IsKeyJustPressed(ebiten.KeyF9) {
		g.load()
	}
	if inpututil.IsKeyJustPressed(ebiten.KeyL) {
		g.toggleMenu()
	}
	if inpututil.IsKeyJustPressed(ebiten.KeyP) {
		pullThePlug(g)
	}
	if g.o.autosave > 0 && !g.noAutosave && time.Since(g.lastAuto) >= g.o.autosave && g.pending == nil && !g.smokeChecking() {
		g.lastAuto = time.Now()
		g.quickSave()
	}
	return nil
}

// toggleMenu opens the load menu (slots and their metadata, from List:
// headers only) or closes it.
func (g *game) toggleMenu() {
	g.menuOn = !g.menuOn
	if g.menuOn {
		g.refreshMenu()
	}
}

// refreshMenu lists the slots on another goroutine: List waits for saves
// still being written, and the frame must not. poll takes the result.
func (g *game) refreshMenu() {
	if g.listing {
		return
	}
	g.listing = true
	go func() {
		list, _ := g.store.List(context.Background())
		g.menuCh <- list
	}()
}

// smokeStep drives the smoke test through the same code as the keys: a
// save at once, a load once it is durable, a screenshot at the end.
func (g *game) smokeStep() error {
	switch {
	case g.smokePending == nil:
		// F5 then F9 at once: Load returns the save just made, not the
		// one before, and the frames go on while it waits.
		g.smokeDigest = g.w.Digest()
		g.quickSave()
		g.smokePending = g.pending
		g.load()
	case g.loading != nil:
		return nil // the loading screen
	case !g.smokeLoaded:
		if g.loadErr != nil {
			g.smokeErr = g.loadErr
			return g.smokeErr
		}
		// Load waited for the save, so it has resolved.
		if err := g.smokePending.Err(); err != nil || g.smokePending.State() != savegame.StateSaved {
			g.smokeErr = fmt.Errorf("the save did not succeed before Load returned: %v", err)
			return g.smokeErr
		}
		g.smokeSaved, g.smokeGen = true, g.smokePending.Generation()
		// The newest save must be the smoke test's own: no autosave runs
		// while it checks (smokeChecking), so anything else is a bug.
		if g.gen != g.smokeGen {
			g.smokeErr = fmt.Errorf("loaded generation %d, the smoke test saved %d", g.gen, g.smokeGen)
			return g.smokeErr
		}
		if g.w.Digest() != g.smokeDigest {
			g.smokeErr = errors.New("the loaded world differs from the saved one")
			return g.smokeErr
		}
		g.smokeLoaded = true
		g.quickSave()  // one more, for the HUD's graph
		g.toggleMenu() // and the load menu, as L opens it, for the screenshot
	}
	return nil
}

// smokeChecking reports whether the smoke test is between its save and
// the check of what loads: an autosave then would make the load return
// a newer world than the one saved.
func (g *game) smokeChecking() bool { return g.o.smoke > 0 && !g.smokeLoaded }

func (g *game) smokeOK() bool {
	return g.smokeSaved && g.smokeLoaded && g.smokeErr == nil && (g.o.screenshot == "" || g.smokeShot)
}

func (g *game) smokeReport() string {
	return fmt.Sprintf("smoke: saved=%v loaded=%v screenshot=%v generation=%d err=%v", g.smokeSaved, g.smokeLoaded, g.smokeShot, g.gen, g.smokeErr)
}

var (
	bg     = color.RGBA{18, 20, 28, 255}
	gemCol = color.RGBA{255, 215, 64, 255}
	plCol  = color.RGBA{80, 220, 255, 255}
)

func (g *game) Draw(screen *ebiten.Image) {
	screen.Fill(bg)
	var op ebiten.DrawImageOptions
	for i := range g.w.Entities {
		e := &g.w.Entities[i]
		op.GeoM.Reset()
		op.GeoM.Translate(float64(e.Pos.X)-1, float64(e.Pos.Y)-1)
		op.ColorScale.Reset()
		op.ColorScale.ScaleWithColor(color.RGBA{e.Color[0], e.Color[1], e.Color[2], 255})
		screen.DrawImage(g.dot, &op)
	}
	for _, c := range g.w.Collectibles {
		vector.DrawFilledCircle(screen, c.Pos.X, c.Pos.Y, 5, gemCol, true)
	}
	p := g.w.Player.Pos
	vector.DrawFilledCircle(screen, p.X, p.Y, 10, plCol, true)
	g.drawHUD(screen)
	if g.o.smoke > 0 && g.smokeLoaded && time.Since(g.start) >= g.o.smoke && !g.smokeShot {
		g.smokeShot = g.writeScreenshot(screen)
	}
}

func (g *game) drawHUD(screen *ebiten.Image) {
	vector.DrawFilledRect(screen, 0, 0, 430, 162, color.RGBA{0, 0, 0, 170}, false)
	status := "idle"
	if g.pending != nil {
		status = "saving..." // the debug font has no ellipsis glyph
	}
	if g.loading != nil {
		status = "loading..."
	}
	var caller, acked time.Duration
	for i := len(g.history) - 1; i >= 0; i-- {
		if g.history[i].acked > 0 {
			caller, acked = g.history[i].caller, g.history[i].acked
			break
		}
	}
	text := fmt.Sprintf("savekit demo   slot %s   %s\n"+
		"saves in %s\n"+
		"committed generation %d in file %s\n"+
		"last save: %d µs on the game thread, %.1f ms to durable\n"+
		"score %d   play time %.0f s   %d entities   %.0f fps\n"+
		"F5 save  F9 load  1-3 slot  L load menu  P pull the plug",
		g.slot, status, g.where, g.gen, []string{"A", "B"}[g.file], caller.Microseconds(), float64(acked.Microseconds())/1000,
		g.w.Score, g.w.PlayTime(), len(g.w.Entities), ebiten.ActualFPS())
	ebitenutil.DebugPrintAt(screen, text, 8, 6)
	// The last 60 saves: bar height is the time to durable (green), the
	// red part of it the cost on the game thread.
	const gx, gy, gh = 8, 140, 40
	vector.DrawFilledRect(screen, gx, gy-gh, 60*7, gh, color.RGBA{30, 30, 40, 200}, false)
	var maxAck time.Duration = time.Millisecond
	for _, h := range g.history {
		maxAck = max(maxAck, h.acked, h.caller)
	}
	for i, h := range g.history {
		x := float32(gx + i*7)
		ah := float32(h.acked) / float32(maxAck) * gh
		ch := float32(h.caller) / float32(maxAck) * gh
		vector.DrawFilledRect(screen, x, gy-ah, 5, ah, color.RGBA{90, 200, 120, 255}, false)
		vector.DrawFilledRect(screen, x, gy-ch, 5, ch, color.RGBA{230, 90, 60, 255}, false)
	}
	ebitenutil.DebugPrintAt(screen, "last 60 saves: green = time to durable, red = game thread", 8, gy+2)
	if g.banner != "" && time.Since(g.bannerT) < 6*time.Second {
		vector.DrawFilledRect(screen, 0, world.Height-28, world.Width, 28, color.RGBA{120, 60, 20, 220}, false)
		ebitenutil.DebugPrintAt(screen, g.banner, 8, world.Height-22)
	}
	if g.menuOn {
		vector.DrawFilledRect(screen, 440, 140, 400, 20+float32(len(g.menu))*16, color.RGBA{0, 0, 0, 220}, false)
		s := "Load menu (1-3 pick, F9 load, L close)\n"
		for _, e := range g.menu {
			var m saveMeta
			_ = e.Meta.Decode(&m) // a corrupt slot has none: zero values
			s += fmt.Sprintf("%-6s gen %-4d %-9s score %d, %.0f s played, %s\n", e.Slot, e.Generation, e.Status, m.Score, m.PlayTime, e.Created.Local().Format("15:04:05"))
		}
		ebitenutil.DebugPrintAt(screen, s, 448, 144)
	}
}

func (g *game) writeScreenshot(screen *ebiten.Image) bool {
	if g.o.screenshot == "" {
		return true
	}
	b := screen.Bounds()
	img := image.NewRGBA(b)
	screen.ReadPixels(img.Pix)
	f, err := os.Create(g.o.screenshot)
	if err == nil {
		err = png.Encode(f, img)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		g.smokeErr = err
		return false
	}
	return true
}

func (g *game) Layout(int, int) (int, int) { return world.Width, world.Height }
