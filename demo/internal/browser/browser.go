//go:build unix

// Package browser drives a real Chromium for the web proofs: it starts the
// browser headless on a profile directory, speaks the DevTools protocol to
// it over the pipe Chromium opens with --remote-debugging-pipe (JSON
// messages ending in a NUL byte, no socket), serves pages from a
// directory on loopback, builds Go programs for GOOS=js, and can kill the
// browser with SIGKILL as a crash would.
package browser

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Find returns the Chromium to run: the named program if not empty, else
// the first of chromium, chromium-browser and google-chrome on PATH.
func Find(name string) (string, error) {
	if name != "" {
		return exec.LookPath(name)
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium found (install Debian's chromium package)")
}

// Browser is a running Chromium.
type Browser struct {
	cmd  *exec.Cmd
	in   *os.File // commands to the browser
	out  *os.File // its answers and events
	logs *os.File

	waitMu sync.Mutex // one wait at a time: Kill and Close may race

	mu      sync.Mutex
	nextID  int
	pending map[int]chan message
	subs    []chan Event
	err     error // why the connection ended
	done    chan struct{}
}

// Event is a DevTools event.
type Event struct {
	Method    string          `json:"method"`
	Params    json.RawMessage `json:"params"`
	SessionID string          `json:"sessionId"`
}

type message struct {
	ID        int             `json:"id"`
	Method    string          `json:"method"`
	Params    json.RawMessage `json:"params"`
	Result    json.RawMessage `json:"result"`
	SessionID string          `json:"sessionId"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Launch starts chromium headless with its profile in profile (created if
// missing, kept between launches: IndexedDB lives there). Its own output
// goes to logPath, if not empty. extraArgs are more Chromium flags.
func Launch(chromium, profile, logPath string, extraArgs ...string) (*Browser, error) {
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	evR, evW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--disable-extensions", "--disable-dev-shm-usage",
		"--user-data-dir="+profile, "--remote-debugging-pipe")
	cmd.Args = append(append(cmd.Args, extraArgs...), "about:blank")
	// fd 3 is what the browser reads, fd 4 what it writes.
	cmd.ExtraFiles = []*os.File{cmdR, evW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var logs *os.File
	if logPath != "" {
		if logs, err = os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = logs, logs
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", chromium, err)
	}
	cmdR.Close()
	evW.Close()
	b := &Browser{cmd: cmd, in: cmdW, out: evR, logs: logs, pending: map[int]chan message{}, done: make(chan struct{})}
	go b.read()
	return b, nil
}

// read dispatches the browser's messages until the pipe closes.
func (b *Browser) read() {
	r := bufio.NewReaderSize(b.out, 1<<20)
	var err error
	for {
		var line []byte
		line, err = r.ReadBytes(0)
		if err != nil {
			break
		}
		var m message
		if json.Unmarshal(line[:len(line)-1], &m) != nil {
			continue
		}
		b.mu.Lock()
		if m.ID != 0 {
			if ch := b.pending[m.ID]; ch != nil {
				delete(b.pending, m.ID)
				ch <- m
			}
		} else {
			ev := Event{Method: m.Method, Params: m.Params, SessionID: m.SessionID}
			for _, s := range b.subs {
				select {
				case s <- ev:
				default: // a subscriber that does not keep up loses events
				}
			}
		}
		b.mu.Unlock()
	}
	b.mu.Lock()
	if err == io.EOF {
		err = errors.New("the browser closed its DevTools pipe")
	}
	b.err = err
	for id, ch := range b.pending {
		close(ch)
		delete(b.pending, id)
	}
	for _, s := range b.subs {
		close(s)
	}
	b.subs = nil
	b.mu.Unlock()
	close(b.done)
}

// Subscribe returns a channel of every event from now on, closed when the
// connection ends. It holds buf events; beyond that, events are dropped.
func (b *Browser) Subscribe(buf int) <-chan Event {
	ch := make(chan Event, buf)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		close(ch)
		return ch
	}
	b.subs = append(b.subs, ch)
	return ch
}

// Call sends a DevTools command (to a page's session, or to the browser
// when session is empty) and decodes its result into result, if not nil.
func (b *Browser) Call(ctx context.Context, session, method string, params, result any) error {
	if params == nil {
		params = struct{}{}
	}
	ch := make(chan message, 1)
	b.mu.Lock()
	if b.err != nil {
		b.mu.Unlock()
		return fmt.Errorf("%s: %w", method, b.err)
	}
	b.nextID++
	id := b.nextID
	b.pending[id] = ch
	b.mu.Unlock()
	req := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		req["sessionId"] = session
	}
	msg, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := b.in.Write(append(msg, 0)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return fmt.Errorf("%s: %w", method, b.err)
		}
		if m.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if result != nil {
			return json.Unmarshal(m.Result, result)
		}
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		delete(b.pending, id)
		b.mu.Unlock()
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// Page is a tab the browser opened for us.
type Page struct {
	b       *Browser
	Session string
}

// Open opens url (nothing if empty) in a new tab, with the Runtime and Page domains enabled
// (console messages arrive as Runtime.consoleAPICalled events).
func (b *Browser) Open(ctx context.Context, url string) (*Page, error) {
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := b.Call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		return nil, err
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.Call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att); err != nil {
		return nil, err
	}
	p := &Page{b: b, Session: att.SessionID}
	for _, domain := range []string{"Runtime.enable", "Page.enable"} {
		if err := b.Call(ctx, p.Session, domain, nil, nil); err != nil {
			return nil, err
		}
	}
	if url != "" {
		if err := p.Navigate(ctx, url); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Call sends a DevTools command to the page's session.
func (p *Page) Call(ctx context.Context, method string, params, result any) error {
	return p.b.Call(ctx, p.Session, method, params, result)
}

// Navigate loads url in the page.
func (p *Page) Navigate(ctx context.Context, url string) error {
	return p.b.Call(ctx, p.Session, "Page.navigate", map[string]any{"url": url}, nil)
}

// Eval evaluates a JavaScript expression in the page, awaiting a promise,
// and decodes its value into result, if not nil.
func (p *Page) Eval(ctx context.Context, expr string, result any) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := p.b.Call(ctx, p.Session, "Runtime.evaluate",
		map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true}, &r)
	if err != nil {
		return err
	}
	if r.Exception != nil {
		return fmt.Errorf("evaluate %q: %s %s", expr, r.Exception.Text, r.Exception.Exception.Description)
	}
	if result != nil && len(r.Result.Value) > 0 {
		return json.Unmarshal(r.Result.Value, result)
	}
	return nil
}

// Key sends a key going down (down true) or up: key is a KeyboardEvent.key
// and .code such as "F5", vk its Windows virtual key code. A game that
// polls keys once a frame sees a press only if the key is still down at
// its next frame: hold it until the game shows it saw it.
func (p *Page) Key(ctx context.Context, key string, vk int, down bool) error {
	typ := "keyUp"
	if down {
		typ = "rawKeyDown"
	}
	return p.Call(ctx, "Input.dispatchKeyEvent", map[string]any{
		"type": typ, "key": key, "code": key, "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk}, nil)
}

// Screenshot returns a PNG of the page.
func (p *Page) Screenshot(ctx context.Context) ([]byte, error) {
	var r struct {
		Data []byte `json:"data"`
	}
	err := p.b.Call(ctx, p.Session, "Page.captureScreenshot", map[string]any{"format": "png"}, &r)
	return r.Data, err
}

// Console returns the text of a Runtime.consoleAPICalled event's
// arguments, joined by spaces, and whether ev is one.
func Console(ev Event) (string, bool) {
	if ev.Method != "Runtime.consoleAPICalled" {
		return "", false
	}
	var p struct {
		Args []struct {
			Value       any    `json:"value"`
			Description string `json:"description"`
		} `json:"args"`
	}
	if json.Unmarshal(ev.Params, &p) != nil {
		return "", false
	}
	parts := make([]string, len(p.Args))
	for i, a := range p.Args {
		if s, ok := a.Value.(string); ok {
			parts[i] = s
		} else if a.Value != nil {
			parts[i] = fmt.Sprint(a.Value)
		} else {
			parts[i] = a.Description
		}
	}
	return strings.Join(parts, " "), true
}

// Kill ends the browser and every process it started with SIGKILL, as a
// crash or the OS's out-of-memory killer would, and waits for it.
func (b *Browser) Kill() error {
	err := syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	b.wait()
	return err
}

// Close asks the browser to quit, and kills it if it has not within 10 s.
func (b *Browser) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = b.Call(ctx, "", "Browser.close", nil, nil)
	exited := make(chan struct{})
	go func() { b.wait(); close(exited) }()
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
		return b.Kill()
	}
}

func (b *Browser) wait() {
	b.waitMu.Lock()
	defer b.waitMu.Unlock()
	if b.cmd.ProcessState == nil {
		_ = b.cmd.Wait()
		// Children of the browser left in its group (a renderer between
		// fork and exit) go with it.
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	}
	b.in.Close()
	<-b.done
	b.out.Close()
	if b.logs != nil {
		b.logs.Close()
	}
}
