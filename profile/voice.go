package profile

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// ErrNoVoice is returned by VoiceAudio when a message has no audio part.
var ErrNoVoice = errors.New("profile: message has no audio part")

// VoiceAudio finds the primary voice of a message for the telephony bridge
// and returns its decoded bytes (transfer encoding removed) with its media
// type. The primary voice is the first audio part whose disposition says
// voice=Voice-Message (RFC 3801 4.3.2), else the first audio part, in
// document order; parts of forwarded messages (message/rfc822) are not
// considered. The reader streams from in.Body, which it rewinds first; it is
// valid until in.Body is read again.
func VoiceAudio(in *Input, lim Limits) (io.Reader, string, error) {
	lim = lim.withDefaults()
	var best, first []int
	var haveBest, haveFirst bool
	// Pass 1: choose the part.
	if err := walkAudio(in, lim, func(path []int, voice bool, _ string, _ io.Reader) bool {
		if !haveFirst {
			first, haveFirst = append([]int{}, path...), true
		}
		if voice {
			best, haveBest = append([]int{}, path...), true
			return false
		}
		return true
	}); err != nil {
		return nil, "", err
	}
	if !haveBest {
		best, haveBest = first, haveFirst
	}
	if !haveBest {
		return nil, "", ErrNoVoice
	}
	// Pass 2: stop at the chosen part and hand out its body.
	var r io.Reader
	var ctype string
	err := walkAudio(in, lim, func(path []int, _ bool, ct string, body io.Reader) bool {
		if samePath(path, best) {
			r, ctype = body, ct
			return false
		}
		return true
	})
	if err != nil {
		return nil, "", err
	}
	if r == nil {
		return nil, "", ErrNoVoice
	}
	return r, ctype, nil
}

func samePath(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// walkAudio visits the audio parts of the message (outside message/rfc822)
// in document order until fn returns false.
func walkAudio(in *Input, lim Limits, fn func(path []int, voice bool, ctype string, body io.Reader) bool) error {
	if _, err := in.Body.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("profile: rewind body: %w", err)
	}
	var h textproto.Header
	for i := len(in.Header) - 1; i >= 0; i-- {
		h.AddRaw([]byte(in.Header[i].Name + ":" + strings.ReplaceAll(in.Header[i].Value, "\n", "\r\n") + "\r\n"))
	}
	root, err := message.New(message.Header{Header: h}, in.Body)
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return fmt.Errorf("profile: voice audio: %w", err)
	}
	parts := 0
	var walk func(e *message.Entity, path []int) (bool, error)
	walk = func(e *message.Entity, path []int) (bool, error) {
		parts++
		if parts > lim.MaxParts || len(path) > lim.MaxDepth {
			return false, nil
		}
		ct, _, _ := e.Header.ContentType()
		ct = strings.ToLower(ct)
		switch {
		case strings.HasPrefix(ct, "multipart/"):
			mr := e.MultipartReader()
			if mr == nil {
				return true, nil
			}
			for i := 1; ; i++ {
				p, err := mr.NextPart()
				if err != nil {
					// A missing close delimiter or a broken part ends the walk
					// leniently: what was found so far stands.
					return true, nil
				}
				cont, err := walk(p, append(path, i))
				if err != nil || !cont {
					return cont, err
				}
			}
		case strings.HasPrefix(ct, "audio/"):
			_, dparams, _ := mime.ParseMediaType(e.Header.Get("Content-Disposition"))
			voice := strings.EqualFold(dparams["voice"], "Voice-Message")
			return fn(path, voice, ct, e.Body), nil
		}
		return true, nil
	}
	_, err = walk(root, nil)
	return err
}
