//go:build unix

package browser

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BuildWasm builds the Go main package pkg for GOOS=js GOARCH=wasm into
// dir/name, and copies the Go release's wasm_exec.js (the glue every Go
// WebAssembly page loads) into dir.
func BuildWasm(pkg, dir, name string) error {
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s for js/wasm: %w\n%s", pkg, err, out)
	}
	return CopyWasmExec(dir)
}

// BuildPage makes dir a page to serve: the main package pkg built for
// js/wasm as dir/wasm, wasm_exec.js, and index as index.html.
func BuildPage(pkg, dir, wasm string, index []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := BuildWasm(pkg, dir, wasm); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "index.html"), index, 0o644)
}

// CopyWasmExec copies wasm_exec.js from the Go installation into dir.
func CopyWasmExec(dir string) error {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return fmt.Errorf("go env GOROOT: %w", err)
	}
	root := strings.TrimSpace(string(out))
	var src []byte
	for _, p := range []string{"lib/wasm/wasm_exec.js", "misc/wasm/wasm_exec.js"} {
		if src, err = os.ReadFile(filepath.Join(root, p)); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("wasm_exec.js not found in %s: %w", root, err)
	}
	return os.WriteFile(filepath.Join(dir, "wasm_exec.js"), src, 0o644)
}

// Serve serves dir over HTTP on addr (host:port; port 0 picks one) and
// returns the page's base URL. The server stops when the program does.
// Everything is sent uncached, so that a reload gets the newest build.
func Serve(addr, dir string) (string, *http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	files := http.FileServer(http.Dir(dir))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		files.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/", srv, nil
}
