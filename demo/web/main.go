//go:build unix

// Command web runs the demo in a browser: it builds the demo for
// GOOS=js GOARCH=wasm, serves it with its page on loopback, and prints the
// address to open. Saves go to the browser's IndexedDB; the page's button
// downloads the current slot's save as a .sav file for the savegame CLI.
//
//	go run ./demo/web                      # then open http://127.0.0.1:8080/
//	go run ./demo/web -check -screenshot docs/web.png
//
// -check proves it in headless Chromium instead: the page loads, F5 saves,
// F9 loads, the download's bytes pass `savegame inspect`, and after a
// reload the save is still there and saving goes on from it. It exits non-zero if any step fails.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/savekit/savekit/demo/internal/browser"
)

//go:embed index.html
var indexHTML []byte

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve the page on")
	check := flag.Bool("check", false, "check the page in headless Chromium, then exit")
	shot := flag.String("screenshot", "", "with -check: write a PNG of the page here")
	chromium := flag.String("chromium", "", "with -check: the browser to run (default: chromium on PATH)")
	flag.Parse()
	if err := run(*addr, *check, *shot, *chromium); err != nil {
		fmt.Fprintln(os.Stderr, "web:", err)
		os.Exit(1)
	}
}

func run(addr string, check bool, shot, chromium string) error {
	www, err := os.MkdirTemp("", "savekit-web")
	if err != nil {
		return err
	}
	defer os.RemoveAll(www)
	fmt.Println("web: building the demo for js/wasm")
	if err := browser.BuildPage("./demo", www, "demo.wasm", indexHTML); err != nil {
		return err
	}
	if check {
		addr = "127.0.0.1:0"
	}
	base, _, err := browser.Serve(addr, www)
	if err != nil {
		return err
	}
	if !check {
		fmt.Printf("web: open %s in a browser (Ctrl-C stops the server)\n", base)
		select {}
	}
	return checkPage(base, shot, chromium)
}

// checkPage drives the demo page in headless Chromium.
func checkPage(base, shot, chromium string) error {
	bin, err := browser.Find(chromium)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "savekit-web-check")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// WebGL without a GPU: Chromium's software renderer.
	b, err := browser.Launch(bin, filepath.Join(work, "profile"), filepath.Join(work, "chromium.log"),
		"--enable-unsafe-swiftshader", "--use-angle=swiftshader", "--window-size=960,640")
	if err != nil {
		return err
	}
	defer b.Close()
	events := b.Subscribe(4096)
	// expect waits for the demo to print a line starting with prefix.
	expect := func(prefix string) (string, error) {
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					return "", errors.New("the browser went away")
				}
				if text, ok := browser.Console(ev); ok {
					if strings.HasPrefix(text, "demo: ") {
						fmt.Println("page:", text)
					}
					if strings.HasPrefix(text, prefix) {
						return text, nil
					}
				}
			case <-ctx.Done():
				return "", fmt.Errorf("waiting for %q: %w", prefix, ctx.Err())
			}
		}
	}
	url := base + "index.html?arg=-autosave&arg=0&arg=-entities&arg=1000"
	page, err := b.Open(ctx, url)
	if err != nil {
		return err
	}
	// press holds a key down until the demo prints what it does.
	press := func(key string, vk int, want string) error {
		if err := page.Key(ctx, key, vk, true); err != nil {
			return err
		}
		_, err := expect(want)
		if uerr := page.Key(ctx, key, vk, false); err == nil {
			err = uerr
		}
		return err
	}
	if _, err := expect("demo: New game"); err != nil {
		return err
	}
	if err := press("F5", 116, "demo: Saved slot1 generation 1"); err != nil {
		return err
	}
	if err := press("F9", 120, "demo: Loaded slot1 generation 1"); err != nil {
		return err
	}

	// The download button's bytes, read by the savegame CLI.
	var got struct {
		Name  string `json:"name"`
		Bytes []int  `json:"bytes"`
	}
	if err := page.Eval(ctx, `savekitExport().then(r => ({name: r.name, bytes: Array.from(r.bytes)}))`, &got); err != nil {
		return err
	}
	file := filepath.Join(work, got.Name)
	data := make([]byte, len(got.Bytes))
	for i, v := range got.Bytes {
		data[i] = byte(v)
	}
	if err := os.WriteFile(file, data, 0o600); err != nil {
		return err
	}
	out, err := exec.Command("go", "run", "./savegame/cmd/savegame", "inspect", "-json", file).CombinedOutput()
	if err != nil {
		return fmt.Errorf("savegame inspect of the downloaded %s: %w\n%s", got.Name, err, out)
	}
	fmt.Printf("web: downloaded %s, %d bytes: savegame inspect exits 0\n", got.Name, len(data))

	// Reload: the program starts again and finds the save.
	if err := page.Navigate(ctx, url); err != nil {
		return err
	}
	if _, err := expect("demo: Loaded slot1 generation 1"); err != nil {
		return err
	}
	// Two more saves, for the HUD's graph.
	for gen := 2; gen <= 3; gen++ {
		if err := press("F5", 116, fmt.Sprintf("demo: Saved slot1 generation %d", gen)); err != nil {
			return err
		}
	}
	time.Sleep(time.Second) // a few frames more
	if shot != "" {
		png, err := page.Screenshot(ctx)
		if err != nil {
			return err
		}
		if err := os.WriteFile(shot, png, 0o644); err != nil {
			return err
		}
		fmt.Println("web: screenshot in", shot)
	}
	fmt.Println("web: ok: the demo saved, loaded, exported a file the CLI reads, and found its save after a reload")
	return nil
}
