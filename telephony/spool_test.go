package telephony

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
)

// pcmRamp returns n samples of a deterministic test signal as PCM16LE.
func pcmRamp(n int) []byte {
	b := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(int16((i*37)%20000-10000)))
	}
	return b
}

func testMeta() JobMeta {
	return JobMeta{QueueID: "Q1", Sender: "alice@example.com", Recipient: "VOICE=+16137637582@voice.example.com",
		Number: "+1-613-763-7582", MessageID: "<m1@example.com>", Subject: "hi", Header: []byte(testHeader)}
}

func TestEnqueueRoundTrip(t *testing.T) {
	s, err := OpenSpool(t.TempDir())
	tcheck(t, err, "open")
	pcm := pcmRamp(8000)
	id, err := s.Enqueue(testMeta(), iotest.OneByteReader(bytes.NewReader(pcm)), 8000)
	tcheck(t, err, "enqueue")
	ids, err := s.List("new")
	tcheck(t, err, "list")
	tcompare(t, strings.Join(ids, ","), id, "new/")
	j, err := s.Load("new", id)
	tcheck(t, err, "load")
	tcompare(t, j.Meta.Number, "+16137637582", "normalised number")
	tcompare(t, j.Meta.Duration, time.Second, "duration from samples")
	tcompare(t, j.Samples, int64(8000), "samples")
	tcompare(t, string(j.Meta.Header), testHeader, "header")
	f, n, err := j.OpenAudio()
	tcheck(t, err, "open audio")
	defer f.Close()
	tcompare(t, n, int64(8000), "wav samples")
	got, _ := io.ReadAll(f)
	tcompare(t, bytes.Equal(got, pcm), true, "audio bytes")
	raw, _ := os.ReadFile(j.AudioPath())
	tcompare(t, len(raw), 44+16000, "wav size")
	tcompare(t, string(raw[:4])+string(raw[8:12]), "RIFFWAVE", "riff")
	tmp, _ := s.List("tmp")
	tcompare(t, len(tmp), 0, "tmp empty")
}

func TestEnqueueRejects(t *testing.T) {
	s, err := OpenSpool(t.TempDir())
	tcheck(t, err, "open")
	bad := func(f func(*JobMeta)) JobMeta { m := testMeta(); f(&m); return m }
	tests := []struct {
		name    string
		meta    JobMeta
		pcm     []byte
		samples int64
		want    string
	}{
		{"short audio", testMeta(), pcmRamp(10), 20, "audio has 20 bytes, want 40"},
		{"long audio", testMeta(), pcmRamp(30), 20, "audio longer than 20 samples"},
		{"no audio", testMeta(), nil, 0, "no audio"},
		{"crlf sender", bad(func(m *JobMeta) { m.Sender = "a@b\r\nBcc: x" }), pcmRamp(10), 10, "sender contains control"},
		{"bad number", bad(func(m *JobMeta) { m.Number = "9p555" }), pcmRamp(10), 10, "not dialable"},
		{"no recipient", bad(func(m *JobMeta) { m.Recipient = "" }), pcmRamp(10), 10, "recipient missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Enqueue(tc.meta, bytes.NewReader(tc.pcm), tc.samples)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want %q, got %v", tc.want, err)
			}
			for _, st := range []string{"new", "tmp"} {
				ids, _ := s.List(st)
				tcompare(t, len(ids), 0, st+" entries")
			}
		})
	}
	// A failing reader.
	_, err = s.Enqueue(testMeta(), iotest.ErrReader(errors.New("boom")), 10)
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("reader error: %v", err)
	}
}

// faultFS injects an error at the n-th call of one operation.
type faultFS struct {
	osFS
	mu    sync.Mutex
	op    string
	nth   int
	calls map[string]int
	err   error
}

func (f *faultFS) hit(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	if op == f.op && f.calls[op] == f.nth {
		return f.err
	}
	return nil
}

// faultFile exposes only Write, Sync and Close (embedding *os.File would
// let bufio bypass Write through ReadFrom).
type faultFile struct {
	f  *os.File
	fs *faultFS
}

func (w faultFile) Write(p []byte) (int, error) {
	if err := w.fs.hit("write"); err != nil {
		n := len(p) / 2
		w.f.Write(p[:n])
		return n, err
	}
	return w.f.Write(p)
}
func (w faultFile) Sync() error {
	if err := w.fs.hit("sync"); err != nil {
		return err
	}
	return w.f.Sync()
}
func (w faultFile) Close() error {
	err := w.f.Close()
	if herr := w.fs.hit("close"); herr != nil {
		return herr
	}
	return err
}

func (f *faultFS) Mkdir(p string, m os.FileMode) error {
	if err := f.hit("mkdir"); err != nil {
		return err
	}
	return os.Mkdir(p, m)
}
func (f *faultFS) Create(p string) (writeFile, error) {
	if err := f.hit("create"); err != nil {
		return nil, err
	}
	file, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, err
	}
	return faultFile{file, f}, nil
}
func (f *faultFS) Rename(o, n string) error {
	if err := f.hit("rename"); err != nil {
		return err
	}
	return os.Rename(o, n)
}
func (f *faultFS) SyncDir(p string) error {
	if err := f.hit("syncdir"); err != nil {
		return err
	}
	return f.osFS.SyncDir(p)
}

// TestEnqueueFaults injects ENOSPC, EIO and EROFS at every step of Enqueue:
// each must return an error and leave no job in new/ and nothing in tmp/.
func TestEnqueueFaults(t *testing.T) {
	steps := []struct {
		op  string
		nth int
		err error
	}{
		{"mkdir", 1, syscall.EROFS},
		{"create", 1, syscall.EROFS},  // audio.wav
		{"write", 1, syscall.ENOSPC},  // audio data
		{"write", 2, syscall.ENOSPC},  // second audio chunk
		{"sync", 1, syscall.EIO},      // audio fsync
		{"close", 1, syscall.EIO},     // audio close
		{"create", 2, syscall.ENOSPC}, // job.json
		{"write", 3, syscall.ENOSPC},  // job.json data (audio needs 2 writes)
		{"sync", 2, syscall.EIO},      // job.json fsync
		{"syncdir", 1, syscall.EIO},   // job dir
		{"rename", 1, syscall.EXDEV},  // publish
		{"syncdir", 2, syscall.EIO},   // new/ after rename
	}
	pcm := pcmRamp(40000) // > 64 KiB buffer: audio is written in 2 chunks
	for _, st := range steps {
		t.Run(fmt.Sprintf("%s#%d", st.op, st.nth), func(t *testing.T) {
			dir := t.TempDir()
			fs := &faultFS{op: st.op, nth: st.nth, err: st.err, calls: map[string]int{}}
			s, err := openSpool(dir, fs, time.Now)
			tcheck(t, err, "open")
			id, err := s.Enqueue(testMeta(), bytes.NewReader(pcm), 40000)
			if err == nil || !errors.Is(err, st.err) {
				t.Fatalf("want %v, got id=%q err=%v", st.err, id, err)
			}
			tcompare(t, id, "", "id")
			tcompare(t, fs.calls[st.op] >= st.nth, true, "fault reached")
			for _, d := range []string{"new", "tmp", "active"} {
				ents, _ := os.ReadDir(filepath.Join(dir, d))
				tcompare(t, len(ents), 0, d+" entries")
			}
		})
	}
}

func TestEnqueueReadOnlyDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions; TestEnqueueFaults injects EROFS instead")
	}
	dir := t.TempDir()
	s, err := OpenSpool(dir)
	tcheck(t, err, "open")
	tcheck(t, os.Chmod(filepath.Join(dir, "tmp"), 0o500), "chmod")
	defer os.Chmod(filepath.Join(dir, "tmp"), 0o700)
	if _, err := s.Enqueue(testMeta(), bytes.NewReader(pcmRamp(10)), 10); err == nil {
		t.Fatal("enqueue into read-only spool succeeded")
	}
	ids, _ := s.List("new")
	tcompare(t, len(ids), 0, "new entries")
}

func TestOpenSpoolCleansStaleTmp(t *testing.T) {
	dir := t.TempDir()
	_, err := OpenSpool(dir)
	tcheck(t, err, "open")
	stale := filepath.Join(dir, "tmp", "stale")
	fresh := filepath.Join(dir, "tmp", "fresh")
	tcheck(t, os.Mkdir(stale, 0o700), "mkdir")
	tcheck(t, os.Mkdir(fresh, 0o700), "mkdir")
	old := time.Now().Add(-2 * time.Hour)
	tcheck(t, os.Chtimes(stale, old, old), "chtimes")
	_, err = OpenSpool(dir)
	tcheck(t, err, "reopen")
	_, err = os.Stat(stale)
	tcompare(t, os.IsNotExist(err), true, "stale removed")
	_, err = os.Stat(fresh)
	tcheck(t, err, "fresh kept")
}

func ExampleSpool_Enqueue() {
	dir, _ := os.MkdirTemp("", "spool")
	defer os.RemoveAll(dir)
	s, _ := OpenSpool(dir)
	pcm := make([]byte, 2*8000) // one second of silence, 8 kHz PCM16LE
	id, err := s.Enqueue(JobMeta{
		Sender: "alice@example.com", Recipient: "VOICE=+16137637582@voice.example.com",
		Number: "+16137637582", MessageID: "<m1@example.com>",
	}, bytes.NewReader(pcm), 8000)
	fmt.Println(err)
	j, _ := s.Load("new", id)
	fmt.Println(j.Meta.Number, j.Meta.Duration, j.Samples)
	// Output:
	// <nil>
	// +16137637582 1s 8000
}

// BenchmarkEnqueue measures a durable enqueue (2 file fsyncs, 2 directory
// fsyncs, 1 rename) of a 5 s message (80 KB of PCM).
func BenchmarkEnqueue(b *testing.B) {
	s, err := OpenSpool(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	pcm := pcmRamp(40000)
	meta := testMeta()
	b.SetBytes(int64(len(pcm)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Enqueue(meta, bytes.NewReader(pcm), 40000); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnqueueParallel: concurrent enqueues (one per milter session),
// where the file system can batch journal commits.
func BenchmarkEnqueueParallel(b *testing.B) {
	s, err := OpenSpool(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	pcm := pcmRamp(40000)
	meta := testMeta()
	b.SetBytes(int64(len(pcm)))
	b.SetParallelism(4) // 4 goroutines per CPU
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Enqueue(meta, bytes.NewReader(pcm), 40000); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// mkJob creates a job directory state/id (job.json and audio.wav) whose
// modification time is mtime. It is built in tmp/ and renamed into place, so
// a running pruner never sees it half written.
func mkJob(t *testing.T, s *Spool, state, id string, mtime time.Time) {
	t.Helper()
	tmp := filepath.Join(s.Dir(), "tmp", id)
	tcheck(t, os.Mkdir(tmp, 0o750), "mkdir job")
	tcheck(t, os.WriteFile(filepath.Join(tmp, "job.json"), []byte(`{"version":1,"id":"`+id+`"}`), 0o640), "job.json")
	tcheck(t, os.WriteFile(filepath.Join(tmp, "audio.wav"), []byte("RIFF"), 0o640), "audio.wav")
	tcheck(t, os.Chtimes(tmp, mtime, mtime), "chtimes")
	if state != "tmp" {
		tcheck(t, os.Rename(tmp, filepath.Join(s.Dir(), state, id)), "rename into "+state)
	}
}

// spoolListing returns every entry (jobs, files, dot-names) of the five
// state directories as "state: a,b" lines; a missing directory is "-".
func spoolListing(t *testing.T, s *Spool) string {
	t.Helper()
	var b strings.Builder
	for _, st := range []string{"tmp", "new", "active", "done", "failed"} {
		ents, err := os.ReadDir(filepath.Join(s.Dir(), st))
		if os.IsNotExist(err) {
			fmt.Fprintf(&b, "%s: -\n", st)
			continue
		}
		tcheck(t, err, "readdir "+st)
		names := make([]string, len(ents))
		for i, e := range ents {
			names[i] = e.Name()
		}
		fmt.Fprintf(&b, "%s: %s\n", st, strings.Join(names, ","))
	}
	return b.String()
}

func TestPrune(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const day = 24 * time.Hour
	week, month := 7*day, 30*day
	type entry struct {
		state, id string
		age       time.Duration
	}
	// Every case starts from this spool: old jobs everywhere, jobs exactly
	// at the retention in done/ and failed/, and fresh ones.
	base := []entry{
		{"tmp", "t-old", 100 * day}, {"new", "n-old", 100 * day}, {"active", "a-old", 100 * day},
		{"done", "d-old", week + time.Second}, {"done", "d-edge", week}, {"done", "d-fresh", time.Hour},
		{"failed", "f-old", month + time.Nanosecond}, {"failed", "f-edge", month}, {"failed", "f-fresh", 29 * day},
	}
	const untouched = "tmp: t-old\nnew: n-old\nactive: a-old\n"
	tests := []struct {
		name                 string
		keepDone, keepFailed time.Duration
		prepare              func(t *testing.T, s *Spool)
		wantDone, wantFailed int
		wantErr              string
		want                 string // spoolListing afterwards
	}{
		{name: "defaults", keepDone: week, keepFailed: month, wantDone: 1, wantFailed: 1,
			want: untouched + "done: d-edge,d-fresh\nfailed: f-edge,f-fresh\n"},
		{name: "one second shorter takes the edge", keepDone: week - time.Second, keepFailed: month - time.Second, wantDone: 2, wantFailed: 2,
			want: untouched + "done: d-fresh\nfailed: f-fresh\n"},
		{name: "keep done forever", keepDone: KeepForever, keepFailed: month, wantDone: 0, wantFailed: 1,
			want: untouched + "done: d-edge,d-fresh,d-old\nfailed: f-edge,f-fresh\n"},
		{name: "keep both forever", keepDone: KeepForever, keepFailed: KeepForever,
			want: untouched + "done: d-edge,d-fresh,d-old\nfailed: f-edge,f-fresh,f-old\n"},
		{name: "missing done dir", keepDone: week, keepFailed: month, wantFailed: 1,
			prepare: func(t *testing.T, s *Spool) { tcheck(t, os.RemoveAll(filepath.Join(s.Dir(), "done")), "rm done") },
			want:    untouched + "done: -\nfailed: f-edge,f-fresh\n"},
		{name: "non-jobs stay, leftovers go", keepDone: week, keepFailed: month, wantDone: 1, wantFailed: 1,
			prepare: func(t *testing.T, s *Spool) {
				old := now.Add(-100 * day)
				stray := filepath.Join(s.Dir(), "done", "stray.txt")
				tcheck(t, os.WriteFile(stray, []byte("x"), 0o640), "stray")
				tcheck(t, os.Chtimes(stray, old, old), "chtimes")
				mkJob(t, s, "done", ".hidden", old)
				mkJob(t, s, "failed", ".prune-f-crashed", now) // an interrupted prune: removed whatever its age
			},
			want: untouched + "done: .hidden,d-edge,d-fresh,stray.txt\nfailed: f-edge,f-fresh\n"},
		{name: "zero retention is refused, the other directory is pruned", keepDone: 0, keepFailed: month, wantFailed: 1,
			wantErr: "telephony: spool: prune done/: retention 0s is not positive (hint: KeepForever)",
			want:    untouched + "done: d-edge,d-fresh,d-old\nfailed: f-edge,f-fresh\n"},
		{name: "negative retention is refused", keepDone: week, keepFailed: -time.Hour, wantDone: 1,
			wantErr: "telephony: spool: prune failed/: retention -1h0m0s is not positive (hint: KeepForever)",
			want:    untouched + "done: d-edge,d-fresh\nfailed: f-edge,f-fresh,f-old\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := openSpool(t.TempDir(), osFS{}, func() time.Time { return now })
			tcheck(t, err, "open")
			for _, e := range base {
				mkJob(t, s, e.state, e.id, now.Add(-e.age))
			}
			if tc.prepare != nil {
				tc.prepare(t, s)
			}
			done, failed, err := s.Prune(now, tc.keepDone, tc.keepFailed)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			tcompare(t, gotErr, tc.wantErr, "error")
			tcompare(t, done, tc.wantDone, "removed from done/")
			tcompare(t, failed, tc.wantFailed, "removed from failed/")
			tcompare(t, spoolListing(t, s), tc.want, "spool afterwards")
		})
	}
}

// TestPruneFaults: a failing entry does not stop the others, every error is
// reported, the directory is fsynced, and a removal that failed halfway is
// finished by the next Prune.
func TestPruneFaults(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	old := now.Add(-8 * 24 * time.Hour)
	tests := []struct {
		name       string
		op         string
		want       string // error of the first Prune
		wantDone   int
		after      string // done/ after the first Prune
		secondDone int    // removed by the second Prune
	}{
		{"rename fails", "rename", "telephony: spool: prune done/a: input/output error", 2, "done: a\n", 1},
		{"remove fails", "removeall", "telephony: spool: prune done/a: input/output error", 3, "done: .prune-a\n", 0},
		{"sync fails", "syncdir", "telephony: spool: sync done: input/output error", 3, "done: \n", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := &faultFS{op: tc.op, nth: 1, err: syscall.EIO, calls: map[string]int{}}
			s, err := openSpool(t.TempDir(), fs, func() time.Time { return now })
			tcheck(t, err, "open")
			for _, id := range []string{"a", "b", "c"} {
				mkJob(t, s, "done", id, old)
			}
			done, failed, err := s.Prune(now, 7*24*time.Hour, 30*24*time.Hour)
			if !errors.Is(err, syscall.EIO) {
				t.Fatalf("error %v is not EIO", err)
			}
			tcompare(t, err.Error(), tc.want, "error")
			tcompare(t, done, tc.wantDone, "removed from done/")
			tcompare(t, failed, 0, "removed from failed/")
			tcompare(t, fs.calls["syncdir"], 1, "directory fsyncs")
			listing := spoolListing(t, s)
			tcompare(t, listing[strings.Index(listing, "done:"):], tc.after+"failed: \n", "spool afterwards")

			done, failed, err = s.Prune(now, 7*24*time.Hour, 30*24*time.Hour)
			tcheck(t, err, "second prune")
			tcompare(t, done, tc.secondDone, "removed by the second prune")
			tcompare(t, failed, 0, "removed from failed/ by the second prune")
			tcompare(t, spoolListing(t, s), "tmp: \nnew: \nactive: \ndone: \nfailed: \n", "spool at last")
		})
	}
}

func (f *faultFS) RemoveAll(p string) error {
	if err := f.hit("removeall"); err != nil {
		return err
	}
	return os.RemoveAll(p)
}

// TestPruneConcurrent: several pruners on one spool take each job exactly
// once and report no errors for the entries the others removed.
func TestPruneConcurrent(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s, err := openSpool(t.TempDir(), osFS{}, func() time.Time { return now })
	tcheck(t, err, "open")
	const jobs, pruners = 60, 4
	for i := range jobs {
		mkJob(t, s, []string{"done", "failed"}[i%2], fmt.Sprintf("job%02d", i), now.Add(-365*24*time.Hour))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	var errs []error
	for range pruners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, f, err := s.Prune(now, 7*24*time.Hour, 30*24*time.Hour)
			mu.Lock()
			defer mu.Unlock()
			total += d + f
			errs = append(errs, err)
		}()
	}
	wg.Wait()
	tcheck(t, errors.Join(errs...), "prune")
	tcompare(t, total, jobs, "jobs removed in all")
	tcompare(t, spoolListing(t, s), "tmp: \nnew: \nactive: \ndone: \nfailed: \n", "spool afterwards")
}

// TestFileSetsCompletionTime: filing a job sets its directory's mtime to
// the spool's clock, which is what Prune reads.
func TestFileSetsCompletionTime(t *testing.T) {
	enqueued := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := enqueued
	s, err := openSpool(t.TempDir(), osFS{}, func() time.Time { return clock })
	tcheck(t, err, "open")
	id, err := s.Enqueue(testMeta(), bytes.NewReader(pcmRamp(80)), 80)
	tcheck(t, err, "enqueue")
	j, err := s.Load("new", id)
	tcheck(t, err, "load")
	tcheck(t, s.claim(j), "claim")
	clock = enqueued.Add(90 * time.Minute)
	tcheck(t, s.file(j, "active", "done"), "file")
	st, err := os.Stat(filepath.Join(s.Dir(), "done", id))
	tcheck(t, err, "stat")
	tcompare(t, st.ModTime().UTC(), clock, "completion time")
	tcompare(t, j.Dir(), filepath.Join(s.Dir(), "done", id), "job dir")

	d, f, err := s.Prune(clock.Add(time.Hour), time.Hour, time.Hour)
	tcheck(t, err, "prune at the edge")
	tcompare(t, d+f, 0, "kept at exactly the retention")
	d, f, err = s.Prune(clock.Add(time.Hour+time.Nanosecond), time.Hour, time.Hour)
	tcheck(t, err, "prune")
	tcompare(t, d, 1, "removed from done/")
	tcompare(t, f, 0, "removed from failed/")
}

func ExampleSpool_Prune() {
	dir, _ := os.MkdirTemp("", "spool")
	defer os.RemoveAll(dir)
	s, _ := OpenSpool(dir)
	id, _ := s.Enqueue(JobMeta{Recipient: "VOICE=+16137637582@voice.example.com", Number: "+16137637582"},
		bytes.NewReader(make([]byte, 2*8000)), 8000)
	// An external bridge delivered the call and filed the job.
	_ = os.Rename(filepath.Join(dir, "new", id), filepath.Join(dir, "done", id))

	// Eight days later, with a week's retention for done/ and failed/ kept forever:
	done, failed, err := s.Prune(time.Now().Add(8*24*time.Hour), 7*24*time.Hour, KeepForever)
	fmt.Println(done, failed, err)
	ids, _ := s.List("done")
	fmt.Println(len(ids))
	// Output:
	// 1 0 <nil>
	// 0
}

// TestSpoolReserve: the size cap counts the jobs of every state (done/
// too) and what was admitted since the last count; a walk every sizeEvery
// notices what left the spool.
func TestSpoolReserve(t *testing.T) {
	s, err := OpenSpool(t.TempDir())
	tcheck(t, err, "spool")
	id, err := s.Enqueue(testMeta(), bytes.NewReader(pcmRamp(8000)), 8000)
	tcheck(t, err, "enqueue")
	j, err := s.Load(dirNew, id)
	tcheck(t, err, "load")
	tcheck(t, s.move(j, dirNew, dirDone), "file in done/")
	size, err := s.usage()
	tcheck(t, err, "usage")
	if size < 16044 {
		t.Fatalf("usage %d, want at least the audio (16044)", size)
	}
	limit := size + 1000
	ok, used, err := s.reserve(600, limit)
	tcheck(t, err, "reserve")
	tcompare(t, ok, true, "first 600 bytes")
	tcompare(t, used, size, "used before")
	ok, used, err = s.reserve(600, limit)
	tcheck(t, err, "reserve")
	tcompare(t, ok, false, "600 more bytes over the limit")
	tcompare(t, used, size+600, "used, with what was admitted")
	// The job leaves the spool; the next count sees it.
	tcheck(t, os.RemoveAll(filepath.Join(s.Dir(), dirDone, id)), "remove")
	s.sizeEvery = 0
	ok, used, err = s.reserve(600, limit)
	tcheck(t, err, "reserve")
	tcompare(t, ok, true, "after the job left")
	tcompare(t, used, int64(0), "used after the walk")
}
