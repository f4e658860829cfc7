package telephony

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vpim-milter/vpim-milter/codec"
	"github.com/vpim-milter/vpim-milter/codec/wav"
)

// Spool directory layout (see doc.go).
const (
	dirTmp     = "tmp"
	dirStaging = "staging"
	dirNew     = "new"
	dirActive  = "active"
	dirDone    = "done"
	dirFailed  = "failed"
	jobFile    = "job.json"
	audioFile  = "audio.wav"
	// pruneMark prefixes a job directory that Prune has taken out of done/
	// or failed/ and is removing. Names starting with "." are never jobs
	// (List skips them), so an interrupted removal leaves no partial job
	// behind; the next Prune finishes it.
	pruneMark = ".prune-"
)

// fileSystem is the part of the OS the spool writes through; tests inject
// failures (read-only, ENOSPC) with it.
type fileSystem interface {
	MkdirAll(path string, perm os.FileMode) error
	Mkdir(path string, perm os.FileMode) error
	// Create creates a new file exclusively for writing.
	Create(path string) (writeFile, error)
	Rename(oldpath, newpath string) error
	RemoveAll(path string) error
	// SyncDir fsyncs a directory so renames and creations in it are durable.
	SyncDir(path string) error
	// Chtimes sets the access and modification times of path.
	Chtimes(path string, atime, mtime time.Time) error
}

// writeFile is a file being written.
type writeFile interface {
	io.Writer
	Sync() error
	Close() error
}

type osFS struct{}

func (osFS) MkdirAll(p string, m os.FileMode) error { return os.MkdirAll(p, m) }
func (osFS) Mkdir(p string, m os.FileMode) error    { return os.Mkdir(p, m) }
func (osFS) Create(p string) (writeFile, error) {
	return os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
}
func (osFS) Rename(o, n string) error { return os.Rename(o, n) }
func (osFS) RemoveAll(p string) error { return os.RemoveAll(p) }
func (osFS) SyncDir(p string) error {
	d, err := os.Open(p)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
func (osFS) Chtimes(p string, a, m time.Time) error { return os.Chtimes(p, a, m) }

// Spool is the durable job queue under spool_dir. Enqueue may be called
// from many goroutines (and processes); a job directory moves
// tmp/ → new/ → active/ → done/ | failed/ by rename(2) only, and Prune
// removes it from done/ or failed/ once its retention has passed.
type Spool struct {
	dir  string
	fs   fileSystem
	now  func() time.Time
	wake chan struct{}
	// rates counts the accepted calls for the rate limits of every
	// Gateway on this spool (rateBook).
	rates *rateBook

	// The size of the spool (reserve): counted by a walk at most every
	// sizeEvery, plus what was admitted since.
	sizeMu    sync.Mutex
	sizeEvery time.Duration
	sizeAt    time.Time // zero: never counted
	size      int64     // bytes found by the last walk
	admitted  int64     // bytes admitted since
}

// spoolSizeEvery is how long a count of the spool's bytes stands: a
// burst of hand-offs walks the job directories once, not once each.
const spoolSizeEvery = 2 * time.Second

// OpenSpool opens (creating if needed) the spool at dir, which must be on one
// file system. Leftovers in tmp/ older than an hour (from a crash during
// Enqueue; never visible as jobs) are removed, and so is everything in
// staging/: jobs staged for a transaction the milter had not yet accepted
// when the process that staged them died (the MTA kept that mail and will
// offer it again), never to be called.
func OpenSpool(dir string) (*Spool, error) {
	return openSpool(dir, osFS{}, time.Now)
}

func openSpool(dir string, fs fileSystem, now func() time.Time) (*Spool, error) {
	s := &Spool{dir: dir, fs: fs, now: now, wake: make(chan struct{}, 1), rates: newRateBook(now), sizeEvery: spoolSizeEvery}
	for _, d := range []string{dirTmp, dirStaging, dirNew, dirActive, dirDone, dirFailed} {
		if err := fs.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			return nil, fmt.Errorf("telephony: spool: %w", err)
		}
	}
	if ents, err := os.ReadDir(filepath.Join(dir, dirTmp)); err == nil {
		for _, e := range ents {
			if info, err := e.Info(); err == nil && now().Sub(info.ModTime()) > time.Hour {
				_ = fs.RemoveAll(filepath.Join(dir, dirTmp, e.Name()))
			}
		}
	}
	if ents, err := os.ReadDir(filepath.Join(dir, dirStaging)); err == nil {
		for _, e := range ents {
			if err := fs.RemoveAll(filepath.Join(dir, dirStaging, e.Name())); err != nil {
				return nil, fmt.Errorf("telephony: spool: remove staged job left by a crash: %w", err)
			}
		}
	}
	return s, nil
}

// Dir returns the spool root.
func (s *Spool) Dir() string { return s.dir }

// Enqueue writes one job durably: audio.wav (header + samples PCM16LE 8 kHz
// mono read from pcm) and job.json are written and fsynced in tmp/<id>/,
// the directory is fsynced, renamed to new/<id>/ and new/ is fsynced. When
// Enqueue returns nil the job survives a crash; on any error nothing is
// visible in new/ and the caller must tempfail the message (DESIGN flow
// step 4). pcm must deliver exactly samples*2 bytes.
func (s *Spool) Enqueue(meta JobMeta, pcm io.Reader, samples int64) (id string, err error) {
	return s.write(meta, pcm, samples, dirNew)
}

// stage is Enqueue into staging/ instead of new/: the job is as durable,
// but the worker never claims it; commit publishes it, discard removes it.
// The milter stages a transaction's jobs before it has decided, so that a
// transaction that ends in a tempfail or a reject, or that the MTA
// abandons, leaves no job behind.
func (s *Spool) stage(meta JobMeta, pcm io.Reader, samples int64) (string, error) {
	return s.write(meta, pcm, samples, dirStaging)
}

// write writes one job durably into state (new/ or staging/): see Enqueue.
func (s *Spool) write(meta JobMeta, pcm io.Reader, samples int64, state string) (id string, err error) {
	if err := checkMeta(&meta); err != nil {
		return "", err
	}
	if samples <= 0 {
		return "", fmt.Errorf("telephony: spool: no audio (%d samples)", samples)
	}
	if meta.Duration == 0 {
		meta.Duration = time.Duration(samples) * time.Second / codec.Rate
	}
	id, err = newID(s.now())
	if err != nil {
		return "", err
	}
	now := s.now().UTC()
	job := &Job{Version: 1, ID: id, Meta: meta, Samples: samples, Created: now, NextAttempt: now}

	tmp := filepath.Join(s.dir, dirTmp, id)
	if err := s.fs.Mkdir(tmp, 0o750); err != nil {
		return "", fmt.Errorf("telephony: spool: %w", err)
	}
	defer func() {
		if err != nil {
			_ = s.fs.RemoveAll(tmp)
			id = ""
		}
	}()
	if err := s.writeAudio(filepath.Join(tmp, audioFile), pcm, samples); err != nil {
		return "", err
	}
	if err := s.writeJSON(filepath.Join(tmp, jobFile), job); err != nil {
		return "", err
	}
	if err := s.fs.SyncDir(tmp); err != nil {
		return "", fmt.Errorf("telephony: spool: sync job dir: %w", err)
	}
	dst := filepath.Join(s.dir, state, id)
	if err := s.fs.Rename(tmp, dst); err != nil {
		return "", fmt.Errorf("telephony: spool: publish job: %w", err)
	}
	if err := s.fs.SyncDir(filepath.Join(s.dir, state)); err != nil {
		// The rename happened but may not be durable: take it back so the
		// caller's tempfail does not leave a job that might later vanish.
		if rerr := s.fs.Rename(dst, tmp); rerr != nil {
			return "", fmt.Errorf("telephony: spool: sync new dir: %w (and unpublish: %v)", err, rerr)
		}
		return "", fmt.Errorf("telephony: spool: sync new dir: %w", err)
	}
	if state == dirNew {
		s.notify()
	}
	return id, nil
}

// notify wakes the worker: a job is due in new/.
func (s *Spool) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// commit publishes staged jobs: each is renamed from staging/ to new/,
// then new/ is fsynced. It is all or nothing as far as rename(2) allows:
// on an error the jobs already renamed are taken back to staging/ (one the
// worker claimed meanwhile goes ahead: at-least-once) and the error is
// returned; the caller then discards them and tempfails the message.
func (s *Spool) commit(ids []string) error {
	var done []string
	undo := func(err error) error {
		for _, id := range done {
			_ = s.fs.Rename(filepath.Join(s.dir, dirNew, id), filepath.Join(s.dir, dirStaging, id))
		}
		return err
	}
	for _, id := range ids {
		if err := s.fs.Rename(filepath.Join(s.dir, dirStaging, id), filepath.Join(s.dir, dirNew, id)); err != nil {
			return undo(fmt.Errorf("telephony: spool: commit job %s: %w", id, err))
		}
		done = append(done, id)
	}
	if len(done) == 0 {
		return nil
	}
	if err := s.fs.SyncDir(filepath.Join(s.dir, dirNew)); err != nil {
		return undo(fmt.Errorf("telephony: spool: commit: sync new dir: %w", err))
	}
	_ = s.fs.SyncDir(filepath.Join(s.dir, dirStaging)) // a staged job that reappears is removed at start
	s.notify()
	return nil
}

// discard removes staged jobs; all errors come back joined.
func (s *Spool) discard(ids []string) error {
	var errs []error
	for _, id := range ids {
		if err := s.fs.RemoveAll(filepath.Join(s.dir, dirStaging, id)); err != nil {
			errs = append(errs, fmt.Errorf("telephony: spool: discard staged job %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// jobBytes is the room one job with samples of audio takes in the spool:
// the WAV file plus job.json (the header block of the message, base64,
// and the history of a day of retries) and the directory.
func jobBytes(samples int64, header int) int64 {
	return 44 + 2*samples + int64(header)*4/3 + 16<<10
}

// reserve admits n more bytes into the spool unless that would take it
// over limit, and reports the bytes counted before. The spool is counted
// by walking every job's files in every state at most every sizeEvery;
// in between, the bytes admitted since are added to the last count (a
// job that left the spool meanwhile is noticed at the next walk).
func (s *Spool) reserve(n, limit int64) (ok bool, used int64, err error) {
	s.sizeMu.Lock()
	defer s.sizeMu.Unlock()
	if now := s.now(); s.sizeAt.IsZero() || now.Sub(s.sizeAt) >= s.sizeEvery || now.Before(s.sizeAt) {
		size, err := s.usage()
		if err != nil {
			return false, 0, err
		}
		s.size, s.admitted, s.sizeAt = size, 0, now
	}
	used = s.size + s.admitted
	if used+n > limit {
		return false, used, nil
	}
	s.admitted += n
	return true, used, nil
}

// usage walks the spool and adds up the sizes of its regular files.
func (s *Spool) usage() (int64, error) {
	var total int64
	err := filepath.WalkDir(s.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil // moved or removed meanwhile
			}
			return err
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("telephony: spool: size: %w", err)
	}
	return total, nil
}

func (s *Spool) writeAudio(path string, pcm io.Reader, samples int64) (err error) {
	f, err := s.fs.Create(path)
	if err != nil {
		return fmt.Errorf("telephony: spool: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("telephony: spool: close audio: %w", cerr)
		}
	}()
	w := bufio.NewWriterSize(f, 64<<10)
	// The canonical 44-byte header of 8 kHz mono PCM16 (doc.go).
	if err := wav.WriteHeader(w, wav.TagPCM, 1, codec.Rate, samples*2, samples); err != nil {
		return fmt.Errorf("telephony: spool: audio: %w", err)
	}
	n, err := io.CopyN(w, pcm, samples*2)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("telephony: spool: audio has %d bytes, want %d", n, samples*2)
		}
		return fmt.Errorf("telephony: spool: write audio: %w", err)
	}
	var one [1]byte
	if k, _ := io.ReadFull(pcm, one[:]); k > 0 {
		return fmt.Errorf("telephony: spool: audio longer than %d samples", samples)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("telephony: spool: write audio: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("telephony: spool: sync audio: %w", err)
	}
	return nil
}

func (s *Spool) writeJSON(path string, job *Job) (err error) {
	b, err := json.MarshalIndent(job, "", "  ")
	if err != nil {
		return fmt.Errorf("telephony: spool: %w", err)
	}
	b = append(b, '\n')
	f, err := s.fs.Create(path)
	if err != nil {
		return fmt.Errorf("telephony: spool: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("telephony: spool: close metadata: %w", cerr)
		}
	}()
	if _, err := f.Write(b); err != nil {
		return fmt.Errorf("telephony: spool: write metadata: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("telephony: spool: sync metadata: %w", err)
	}
	return nil
}

// checkMeta rejects metadata that could inject lines into DSNs, call files
// or logs, and numbers that cannot be dialled.
func checkMeta(m *JobMeta) error {
	fields := []struct{ name, v string }{
		{"queue id", m.QueueID}, {"sender", m.Sender}, {"recipient", m.Recipient},
		{"number", m.Number}, {"message-id", m.MessageID}, {"notify", m.Notify},
		{"envid", m.EnvID}, {"orcpt", m.ORcpt}, {"login", m.Login}, {"client", m.Client},
	}
	for _, f := range fields {
		if len(f.v) > 998 || strings.IndexFunc(f.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
			return fmt.Errorf("telephony: spool: %s contains control characters or is too long", f.name)
		}
	}
	if m.Recipient == "" {
		return errors.New("telephony: spool: recipient missing")
	}
	m.Number = normalizeNumber(m.Number)
	if !isDialable(m.Number) {
		return fmt.Errorf("telephony: spool: number %q is not dialable", m.Number)
	}
	m.Sender = strings.Trim(m.Sender, "<>")
	return nil
}

// newID returns a time-ordered unique job id.
func newID(now time.Time) (string, error) {
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", fmt.Errorf("telephony: spool: id: %w", err)
	}
	return fmt.Sprintf("%016x-%s", now.UnixNano(), hex.EncodeToString(r[:])), nil
}

// loadJob reads state/id/job.json.
func (s *Spool) loadJob(state, id string) (*Job, error) {
	dir := filepath.Join(s.dir, state, id)
	b, err := os.ReadFile(filepath.Join(dir, jobFile))
	if err != nil {
		return nil, fmt.Errorf("telephony: spool: %w", err)
	}
	var j Job
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("telephony: spool: job %s: %w", id, err)
	}
	if j.ID != id {
		return nil, fmt.Errorf("telephony: spool: job %s: id mismatch %q", id, j.ID)
	}
	j.dir = dir
	return &j, nil
}

// List returns the ids in one state directory ("new", "active", "done",
// "failed"), sorted (ids sort by creation time).
func (s *Spool) List(state string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(s.dir, state))
	if err != nil {
		return nil, fmt.Errorf("telephony: spool: %w", err)
	}
	ids := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// Load reads a job from a state directory.
func (s *Spool) Load(state, id string) (*Job, error) { return s.loadJob(state, id) }

// due returns the jobs in new/ whose NextAttempt has come, earliest first,
// the earliest future NextAttempt (zero if none), and the ids of damaged
// jobs (unreadable job.json).
func (s *Spool) due(now time.Time) (jobs []*Job, next time.Time, damaged []string, err error) {
	ids, err := s.List(dirNew)
	if err != nil {
		return nil, time.Time{}, nil, err
	}
	for _, id := range ids {
		j, err := s.loadJob(dirNew, id)
		if err != nil {
			if _, serr := os.Stat(filepath.Join(s.dir, dirNew, id)); serr == nil {
				damaged = append(damaged, id)
			}
			continue // claimed meanwhile, or damaged
		}
		if j.NextAttempt.After(now) {
			if next.IsZero() || j.NextAttempt.Before(next) {
				next = j.NextAttempt
			}
			continue
		}
		jobs = append(jobs, j)
	}
	sort.SliceStable(jobs, func(a, b int) bool { return jobs[a].NextAttempt.Before(jobs[b].NextAttempt) })
	return jobs, next, damaged, nil
}

// move renames a job directory between states and makes it durable.
func (s *Spool) move(j *Job, from, to string) error {
	src := filepath.Join(s.dir, from, j.ID)
	dst := filepath.Join(s.dir, to, j.ID)
	if err := s.fs.Rename(src, dst); err != nil {
		return fmt.Errorf("telephony: spool: move %s %s→%s: %w", j.ID, from, to, err)
	}
	j.dir = dst
	if err := s.fs.SyncDir(filepath.Join(s.dir, to)); err != nil {
		return fmt.Errorf("telephony: spool: sync %s: %w", to, err)
	}
	return s.fs.SyncDir(filepath.Join(s.dir, from))
}

// file moves a job into done/ or failed/ and sets the job directory's
// modification time to the filing time, which is the completion time Prune
// reads: rename(2) leaves the moved directory's times alone. Setting the time
// is best effort; without it the time is that of the last change inside the
// directory (the job.json rewrite just before filing).
func (s *Spool) file(j *Job, from, to string) error {
	err := s.move(j, from, to)
	if dst := filepath.Join(s.dir, to, j.ID); j.dir == dst {
		t := s.now()
		_ = s.fs.Chtimes(dst, t, t)
	}
	return err
}

// Prune removes the jobs in done/ completed more than keepDone before now,
// and those in failed/ completed more than keepFailed before now; a job
// exactly keepDone (keepFailed) old stays. The completion time is the
// modification time of the job directory, which the worker sets when it
// files the job; for a job filed by an external bridge it is the time of the
// last change inside the job directory. KeepForever skips a directory; any
// other retention that is not positive is an error for that directory.
//
// Prune reads only done/ and failed/: jobs in tmp/, new/ and active/ are
// never touched, nor are files or dot-names in done/ and failed/ (they are
// not jobs). A job is first renamed to a hidden name beside it, so it
// disappears whole and at once, and of several concurrent pruners only one
// takes it; then its directory (job.json, audio.wav and anything else in
// it) is removed, and the state directory is fsynced. Entries that vanish
// meanwhile are skipped and a missing state directory counts as empty. A
// problem with one entry does not stop the others: all errors come back
// joined. done and failed count the jobs taken out of each directory; one
// whose removal failed after that is reported in err and finished by the
// next Prune.
func (s *Spool) Prune(now time.Time, keepDone, keepFailed time.Duration) (done, failed int, err error) {
	done, errDone := s.prune(dirDone, now, keepDone)
	failed, errFailed := s.prune(dirFailed, now, keepFailed)
	return done, failed, errors.Join(errDone, errFailed)
}

// prune is Prune for one state directory.
func (s *Spool) prune(state string, now time.Time, keep time.Duration) (n int, err error) {
	if keep == KeepForever {
		return 0, nil
	}
	if keep <= 0 {
		return 0, fmt.Errorf("telephony: spool: prune %s/: retention %v is not positive (hint: KeepForever)", state, keep)
	}
	dir := filepath.Join(s.dir, state)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("telephony: spool: prune: %w", err)
	}
	var errs []error
	changed := false
	for _, e := range ents {
		name := e.Name()
		path := filepath.Join(dir, name)
		if strings.HasPrefix(name, pruneMark) {
			// Left by an interrupted prune, or being removed by another.
			if err := s.fs.RemoveAll(path); err != nil {
				errs = append(errs, fmt.Errorf("telephony: spool: prune %s/%s: %w", state, name, err))
			}
			changed = true
			continue
		}
		if !e.IsDir() || strings.HasPrefix(name, ".") {
			continue // not a job
		}
		info, err := e.Info()
		if errors.Is(err, os.ErrNotExist) {
			continue // pruned meanwhile
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("telephony: spool: prune %s/%s: %w", state, name, err))
			continue
		}
		if now.Sub(info.ModTime()) <= keep {
			continue
		}
		trash := filepath.Join(dir, pruneMark+name)
		if err := s.fs.Rename(path, trash); err != nil {
			if !errors.Is(err, os.ErrNotExist) { // else another pruner took it
				errs = append(errs, fmt.Errorf("telephony: spool: prune %s/%s: %w", state, name, err))
			}
			continue
		}
		n++
		changed = true
		if err := s.fs.RemoveAll(trash); err != nil {
			errs = append(errs, fmt.Errorf("telephony: spool: prune %s/%s: %w", state, name, err))
		}
	}
	if changed {
		if err := s.fs.SyncDir(dir); err != nil {
			errs = append(errs, fmt.Errorf("telephony: spool: sync %s: %w", state, err))
		}
	}
	return n, errors.Join(errs...)
}

// claim moves a job from new/ to active/. Only one claimer wins the rename.
func (s *Spool) claim(j *Job) error { return s.move(j, dirNew, dirActive) }

// save rewrites job.json atomically (temp file, fsync, rename, fsync dir).
func (s *Spool) save(j *Job) error {
	tmp := filepath.Join(j.dir, jobFile+".tmp")
	_ = os.Remove(tmp)
	if err := s.writeJSON(tmp, j); err != nil {
		return err
	}
	if err := s.fs.Rename(tmp, filepath.Join(j.dir, jobFile)); err != nil {
		return fmt.Errorf("telephony: spool: %w", err)
	}
	return s.fs.SyncDir(j.dir)
}

// recoverActive moves every job left in active/ (a crash or kill during an
// attempt) back to new/: delivery is at-least-once, so such a job's call
// may be repeated once.
func (s *Spool) recoverActive() ([]string, error) {
	ids, err := s.List(dirActive)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if err := s.move(&Job{ID: id}, dirActive, dirNew); err != nil {
			return nil, err
		}
	}
	return ids, nil
}
