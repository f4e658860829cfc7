// Package chromium runs a headless Chromium (Debian's `chromium`) for tests and asks it what a
// mail reader built on it can play: DecodeAudio hands attachment bytes to Web Audio's
// decodeAudioData, as a web mail client's player does, and returns what came out (or the
// error). Chromium is the engine of Gmail and Outlook on the web and of many desktop
// clients' message views, so a format it cannot decode is silent for most people who read
// voice mail in an ordinary mail client. Only tests import it.
//
// The browser is driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
// commands on its file descriptor 3, replies and events on 4, each a JSON object ended by a
// NUL byte), not over a websocket on a TCP port: there is no port to reserve or race other
// tests for, no websocket code or module, and when the test process dies the pipe closes and
// Chromium exits with it. The page that decodes is served by an httptest server on
// 127.0.0.1, which also serves each audio file, so the bytes reach Web Audio as a fetched
// attachment does. Decoding runs in real time: Runtime.evaluate awaits the promise of
// decodeAudioData, which Chromium fulfils from a decoder thread (a virtual-time budget, as
// --dump-dom with --virtual-time-budget would use, does not wait for it).
package chromium

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Flags are the command-line flags Start gives Chromium besides the profile directory and
// the debugging pipe: headless, no sandbox (tests run as root), and nothing that reaches
// the network or a GPU on its own.
var Flags = []string{
	"--headless",
	"--no-sandbox",
	"--disable-gpu",
	"--disable-quic",
	"--no-first-run",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
	"--disable-extensions",
	"--disable-default-apps",
	"--mute-audio",
}

// Browser is one running headless Chromium with one page open on the local test server.
// Its methods are safe for concurrent use.
type Browser struct {
	cmd     *exec.Cmd
	dir     string    // the profile directory (--user-data-dir), removed by Close
	toB     io.Closer // our end of Chromium's fd 3
	w       *bufio.Writer
	wmu     sync.Mutex // serialises writes to the pipe
	srv     *httptest.Server
	session string // the flattened DevTools session of the page
	version string
	stderr  *tailBuffer
	exited  chan struct{} // closed when the process has been reaped

	mu      sync.Mutex
	next    int64
	waiting map[int64]chan message
	subs    map[string][]chan message // event method -> subscribers
	readErr error                     // set when the pipe from Chromium ended
	files   map[string][]byte         // path on srv -> bytes being decoded

	closeOnce sync.Once
}

// message is one DevTools protocol message in either direction.
type message struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    string `json:"data"`
	} `json:"error,omitempty"`
}

// Path returns the Chromium executable: $VPIM_CHROMIUM, or chromium on $PATH. A missing one
// skips the test, or fails it under CI=true, where every tool is required
// (tools/test-deps.sh installs chromium).
func Path(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("VPIM_CHROMIUM"); p != "" {
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is required under CI=true (apt-get install chromium)")
		}
		t.Skipf("chromium not installed (apt-get install chromium)")
	}
	return p
}

// Start starts Chromium (Path) with Flags and a fresh profile directory, opens the decoding
// page and returns when the page has loaded. The browser is closed when the test ends
// (Close). A browser that does not come up within a minute fails the test.
func Start(t testing.TB) *Browser {
	t.Helper()
	exe := Path(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := start(ctx, exe)
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("chromium: %v", err)
		}
	})
	return b
}

func start(ctx context.Context, exe string) (_ *Browser, err error) {
	dir, err := os.MkdirTemp("", "vpim-chromium-*")
	if err != nil {
		return nil, fmt.Errorf("profile directory: %w", err)
	}
	// Chromium reads commands from fd 3 and writes to fd 4.
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pipe: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		cmdR.Close()
		cmdW.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pipe: %w", err)
	}
	args := append(append([]string(nil), Flags...), "--user-data-dir="+dir, "--remote-debugging-pipe", "about:blank")
	cmd := exec.Command(exe, args...)
	cmd.ExtraFiles = []*os.File{cmdR, outW}
	// A process group of its own, so that Close can end the renderer and utility processes
	// along with the browser.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	tail := &tailBuffer{max: 16 << 10}
	cmd.Stdout, cmd.Stderr = tail, tail
	if err := cmd.Start(); err != nil {
		cmdR.Close()
		cmdW.Close()
		outR.Close()
		outW.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", exe, err)
	}
	cmdR.Close()
	outW.Close()
	b := &Browser{
		cmd:     cmd,
		dir:     dir,
		toB:     cmdW,
		w:       bufio.NewWriter(cmdW),
		stderr:  tail,
		exited:  make(chan struct{}),
		waiting: map[int64]chan message{},
		subs:    map[string][]chan message{},
		files:   map[string][]byte{},
	}
	go func() {
		cmd.Wait()
		close(b.exited)
	}()
	go b.read(outR)
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w (chromium's output: %q)", err, b.stderr.String())
			b.Close()
		}
	}()

	var ver struct {
		Product string `json:"product"`
	}
	if err := b.call(ctx, "", "Browser.getVersion", nil, &ver); err != nil {
		return nil, err
	}
	b.version = ver.Product
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		return nil, err
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att); err != nil {
		return nil, err
	}
	b.session = att.SessionID
	if err := b.call(ctx, b.session, "Page.enable", nil, nil); err != nil {
		return nil, err
	}
	loaded := b.subscribe("Page.loadEventFired")
	defer b.unsubscribe("Page.loadEventFired", loaded)
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	if err := b.call(ctx, b.session, "Page.navigate", map[string]any{"url": b.srv.URL + "/"}, &nav); err != nil {
		return nil, err
	}
	if nav.ErrorText != "" {
		return nil, fmt.Errorf("navigate to %s: %s", b.srv.URL, nav.ErrorText)
	}
	for {
		select {
		case m := <-loaded:
			if m.SessionID != b.session {
				continue
			}
			return b, nil
		case <-b.exited:
			return nil, fmt.Errorf("exited while loading the page: %v", b.cmd.ProcessState)
		case <-ctx.Done():
			return nil, fmt.Errorf("page did not load: %w", ctx.Err())
		}
	}
}

// Version is what Chromium calls itself ("Chrome/156.0.8078.114"; Chromium answers the
// DevTools protocol with Chrome's product name).
func (b *Browser) Version() string { return b.version }

// page is the document the decoding runs in. decodeAudio fetches url and decodes it with
// an OfflineAudioContext at rate Hz (decodeAudioData resamples to its context's rate; at the
// stream's own rate the frame count is the stream's own).
const page = `<!doctype html>
<meta charset="utf-8">
<title>vpim-milter playback check</title>
<script>
async function decodeAudio(url, rate) {
  const r = await fetch(url);
  if (!r.ok) return {ok: false, error: "fetch: HTTP " + r.status};
  const data = await r.arrayBuffer();
  const ctx = new OfflineAudioContext(1, 1, rate);
  try {
    const b = await ctx.decodeAudioData(data);
    return {ok: true, sampleRate: b.sampleRate, length: b.length, duration: b.duration, channels: b.numberOfChannels};
  } catch (e) {
    return {ok: false, error: String(e && e.name) + ": " + String(e && e.message)};
  }
}
</script>
`

// serve serves the page at / and each file being decoded at its path.
func (b *Browser) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
		return
	}
	b.mu.Lock()
	data, ok := b.files[r.URL.Path]
	b.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	// What a web mail client's download of an attachment looks like to the engine: opaque
	// bytes, the format left to the decoder to find.
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

// Decoded is what decodeAudioData made of some bytes.
type Decoded struct {
	// OK is true when the promise was fulfilled: the engine plays the bytes.
	OK bool
	// Error is the rejection ("EncodingError: Unable to decode audio data") when !OK.
	Error string
	// SampleRate is the context's rate, the rate DecodeAudio was asked for.
	SampleRate float64
	// Length is the number of frames decoded, at SampleRate.
	Length int64
	// Duration is Length / SampleRate, in seconds.
	Duration float64
	// Channels is the number of channels decoded.
	Channels int
}

// DecodeAudio fetches data from the local server in the page and decodes it with
// decodeAudioData on an OfflineAudioContext at rate Hz (3000 to 768000), waiting in real
// time for the promise. A decoding error is a Decoded with OK false; an error is returned
// only when the browser could not be asked (it died, ctx ended, the protocol failed).
func (b *Browser) DecodeAudio(ctx context.Context, data []byte, rate int) (Decoded, error) {
	b.mu.Lock()
	b.next++
	path := fmt.Sprintf("/audio/%d", b.next)
	b.files[path] = data
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.files, path)
		b.mu.Unlock()
	}()
	var res struct {
		Result struct {
			Type  string          `json:"type"`
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	expr := fmt.Sprintf("decodeAudio(%q, %d)", path, rate)
	if err := b.call(ctx, b.session, "Runtime.evaluate", map[string]any{
		"expression":    expr,
		"awaitPromise":  true,
		"returnByValue": true,
	}, &res); err != nil {
		return Decoded{}, err
	}
	if e := res.ExceptionDetails; e != nil {
		return Decoded{}, fmt.Errorf("chromium: %s: %s %s", expr, e.Text, e.Exception.Description)
	}
	var v struct {
		OK         bool    `json:"ok"`
		Error      string  `json:"error"`
		SampleRate float64 `json:"sampleRate"`
		Length     int64   `json:"length"`
		Duration   float64 `json:"duration"`
		Channels   int     `json:"channels"`
	}
	if err := json.Unmarshal(res.Result.Value, &v); err != nil {
		return Decoded{}, fmt.Errorf("chromium: %s returned %s: %w", expr, res.Result.Value, err)
	}
	return Decoded(v), nil
}

// call sends one command (to the browser for session "", else to that session) and waits
// for its reply, decoding the result into result unless it is nil.
func (b *Browser) call(ctx context.Context, session, method string, params, result any) error {
	m := message{Method: method, SessionID: session}
	if params != nil {
		p, err := json.Marshal(params)
		if err != nil {
			return fmt.Errorf("chromium: %s: %w", method, err)
		}
		m.Params = p
	}
	ch := make(chan message, 1)
	b.mu.Lock()
	if b.readErr != nil {
		err := b.readErr
		b.mu.Unlock()
		return fmt.Errorf("chromium: %s: %w", method, err)
	}
	b.next++
	m.ID = b.next
	b.waiting[m.ID] = ch
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.waiting, m.ID)
		b.mu.Unlock()
	}()
	line, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("chromium: %s: %w", method, err)
	}
	b.wmu.Lock()
	b.w.Write(line)
	b.w.WriteByte(0)
	err = b.w.Flush()
	b.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("chromium: send %s: %w", method, err)
	}
	select {
	case r, ok := <-ch:
		if !ok {
			b.mu.Lock()
			err := b.readErr
			b.mu.Unlock()
			return fmt.Errorf("chromium: %s: %w", method, err)
		}
		if r.Error != nil {
			return fmt.Errorf("chromium: %s: %s (%d) %s", method, r.Error.Message, r.Error.Code, r.Error.Data)
		}
		if result != nil {
			if err := json.Unmarshal(r.Result, result); err != nil {
				return fmt.Errorf("chromium: %s: result %s: %w", method, r.Result, err)
			}
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("chromium: %s: %w", method, ctx.Err())
	}
}

// read delivers replies and events from Chromium's fd 4 until it closes.
func (b *Browser) read(r io.ReadCloser) {
	defer r.Close()
	br := bufio.NewReaderSize(r, 64<<10)
	var err error
	for {
		var raw []byte
		raw, err = br.ReadBytes(0)
		if err != nil {
			break
		}
		var m message
		if err = json.Unmarshal(raw[:len(raw)-1], &m); err != nil {
			err = fmt.Errorf("bad message %.200q: %w", raw, err)
			break
		}
		b.mu.Lock()
		if m.ID != 0 {
			if ch, ok := b.waiting[m.ID]; ok {
				ch <- m
			}
		} else {
			for _, ch := range b.subs[m.Method] {
				select {
				case ch <- m:
				default:
				}
			}
		}
		b.mu.Unlock()
	}
	if err == io.EOF {
		err = errors.New("the browser closed its DevTools pipe")
	}
	b.mu.Lock()
	b.readErr = err
	for id, ch := range b.waiting {
		close(ch)
		delete(b.waiting, id)
	}
	b.mu.Unlock()
}

// subscribe returns a channel that receives the events named method.
func (b *Browser) subscribe(method string) chan message {
	ch := make(chan message, 16)
	b.mu.Lock()
	b.subs[method] = append(b.subs[method], ch)
	b.mu.Unlock()
	return ch
}

func (b *Browser) unsubscribe(method string, ch chan message) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.subs[method]
	for i, c := range s {
		if c == ch {
			b.subs[method] = append(s[:i], s[i+1:]...)
			break
		}
	}
}

// Close asks Chromium to quit (Browser.close), gives it five seconds, then kills its process
// group; it stops the page server and removes the profile directory. It reports an error
// when processes of the group outlive the kill or the directory cannot be removed.
func (b *Browser) Close() error {
	var err error
	b.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b.call(ctx, "", "Browser.close", nil, nil)
		b.toB.Close()
		select {
		case <-b.exited:
		case <-ctx.Done():
		}
		// The renderer, GPU and utility processes are in the browser's process group; a
		// browser that quit may leave one behind for a moment.
		pgid := b.cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-b.exited
		if b.srv != nil {
			b.srv.Close()
		}
		deadline := time.Now().Add(5 * time.Second)
		for groupAlive(pgid) {
			if time.Now().After(deadline) {
				err = fmt.Errorf("chromium: processes of group %d are still running after SIGKILL", pgid)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if rerr := os.RemoveAll(b.dir); rerr != nil {
			err = errors.Join(err, fmt.Errorf("chromium: remove the profile: %w", rerr))
		}
	})
	return err
}

// groupAlive reports whether a process that is not a zombie is in process group pgid (a
// killed renderer stays a zombie until its new parent reaps it, which a container's init
// may never do).
func groupAlive(pgid int) bool {
	if syscall.Kill(-pgid, 0) != nil {
		return false
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 2 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			return true
		}
	}
	return false
}

// tailBuffer keeps the last max bytes written to it (Chromium's own output, for errors).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(bytes.ToValidUTF8(t.b, nil)))
}
