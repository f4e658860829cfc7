package telephony

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/vpim-milter/vpim-milter/codec"
	"github.com/vpim-milter/vpim-milter/codec/wav"
)

// JobMeta is what the milter knows about one bridge-bound recipient when it
// enqueues the job. Every field except Header must be a single line without
// control characters (Enqueue checks).
type JobMeta struct {
	QueueID   string        `json:"queue_id"`         // MTA queue id, for logs
	Sender    string        `json:"sender"`           // envelope MAIL FROM, "" for <>
	Recipient string        `json:"recipient"`        // envelope RCPT TO (the VOICE= address)
	Number    string        `json:"number"`           // normalised number to dial, "+E164" or local digits (Policy.CheckNumber)
	MessageID string        `json:"message_id"`       // Message-ID header
	Subject   string        `json:"subject"`          // Subject (untrusted; sanitised where used)
	Duration  time.Duration `json:"duration"`         // audio duration; 0 = from the sample count
	Notify    string        `json:"notify"`           // RFC 3461 NOTIFY value, e.g. "SUCCESS,FAILURE", "" if absent
	EnvID     string        `json:"envid"`            // RFC 3461 ENVID (xtext as received)
	ORcpt     string        `json:"orcpt"`            // RFC 3461 ORCPT ("rfc822;" xtext as received)
	Header    []byte        `json:"header"`           // original header block for text/rfc822-headers
	Login     string        `json:"login,omitempty"`  // SMTP AUTH login of the client ({auth_authen}), for audits and rate limits
	Client    string        `json:"client,omitempty"` // client IP address ({client_addr}), for audits
}

// Attempt records one delivery attempt (or the final verdict).
type Attempt struct {
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	Outcome    Outcome   `json:"outcome"`
	Status     string    `json:"status,omitempty"` // RFC 3463 code, "2.0.0" when delivered
	Diagnostic string    `json:"diagnostic,omitempty"`
}

// Job is one spooled call: the metadata file job.json plus audio.wav in the
// job's directory. The JSON form of Job is the spool format (see doc.go).
type Job struct {
	Version     int       `json:"version"` // spool format version, 1
	ID          string    `json:"id"`
	Meta        JobMeta   `json:"meta"`
	Samples     int64     `json:"samples"` // 8 kHz samples in audio.wav
	Created     time.Time `json:"created"`
	Expires     time.Time `json:"expires"`      // zero: the bridge's Expire applies from Created
	Attempts    int       `json:"attempts"`     // delivery attempts made
	NextAttempt time.Time `json:"next_attempt"` // not before
	History     []Attempt `json:"history"`
	// Final is set once the outcome is final (delivered, permanent failure,
	// expired); a job with Final set is never called again, only its DSN is
	// (re)sent and it is moved to done/ or failed/.
	Final       *Attempt `json:"final,omitempty"`
	DSN         string   `json:"dsn,omitempty"` // "sent", "not-requested", "null-sender", "disabled", "failed: ..."
	DSNAttempts int      `json:"dsn_attempts,omitempty"`
	// DelayDSN records the one "delayed" DSN (RFC 3464 §2.3.3, NOTIFY=DELAY):
	// "" while none is due yet, "sent", "not-requested", "null-sender",
	// "disabled", or "failed: ..." (tried again after the next temporary
	// failure). Once it is anything but "" or "failed: ...", no delayed
	// DSN goes out for the job, also after a restart.
	DelayDSN string `json:"delay_dsn,omitempty"`

	dir string
}

// Dir is the job's directory (it changes as the job moves between states).
func (j *Job) Dir() string { return j.dir }

// AudioPath is the path of the job's audio (8 kHz mono PCM16 WAV).
func (j *Job) AudioPath() string { return filepath.Join(j.dir, audioFile) }

// OpenAudio opens the job's audio positioned at the first PCM sample
// (16-bit little endian, 8 kHz, mono) and returns the sample count.
func (j *Job) OpenAudio() (io.ReadCloser, int64, error) {
	f, err := os.Open(j.AudioPath())
	if err != nil {
		return nil, 0, fmt.Errorf("telephony: job %s: %w", j.ID, err)
	}
	h, err := wav.ReadHeader(f)
	if err == nil && (h.Tag != wav.TagPCM || h.Channels != 1 || h.SampleRate != codec.Rate || h.BitsPerSample != 16 || h.DataSize < 0) {
		err = errWAV
	}
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("telephony: job %s: %w", j.ID, err)
	}
	return f, h.DataSize / 2, nil
}

// errWAV reports a job's audio that is not 8 kHz mono 16-bit PCM with a
// known length.
var errWAV = errors.New("telephony: wav: not 8 kHz mono 16-bit PCM")
