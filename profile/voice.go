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

// ErrNoVoice is returned by FindVoice when a message has no audio part.
var ErrNoVoice = errors.New("profile: message has no audio part")

// Voice is the part of a message the telephony bridge plays: its primary
// voice.
type Voice struct {
	// Path is the part's position in Part.Path numbering: "" for a
	// single-part message, "2", "1.3", ...
	Path string
	// MediaType is the part's media type in lower case, e.g. "audio/32kadpcm".
	MediaType string
}

// Format is the codec format the media type fixes for headerless audio:
// "basic" for audio/basic, "32kadpcm" for audio/32KADPCM (RFC 3802); ""
// for every other type, whose format is sniffed from the bytes.
func (v Voice) Format() string {
	switch v.MediaType {
	case "audio/basic":
		return "basic"
	case "audio/32kadpcm":
		return "32kadpcm"
	}
	return ""
}

// FindVoice finds the primary voice of a message for the telephony bridge:
// the first audio part whose disposition says voice=Voice-Message
// (RFC 3801 4.3.2), else the first audio part, in document order; parts of
// forwarded messages (message/rfc822) are not considered. It returns
// ErrNoVoice when there is no audio part. It reads in.Body, which it
// rewinds first.
func FindVoice(in *Input, lim Limits) (Voice, error) {
	lim = lim.withDefaults()
	var best, first *Voice
	if err := walkAudio(in, lim, func(path string, voice bool, ctype string, _ io.Reader) bool {
		if first == nil {
			first = &Voice{Path: path, MediaType: ctype}
		}
		if voice {
			best = &Voice{Path: path, MediaType: ctype}
			return false
		}
		return true
	}); err != nil {
		return Voice{}, err
	}
	if best == nil {
		best = first
	}
	if best == nil {
		return Voice{}, ErrNoVoice
	}
	return *best, nil
}

// OpenVoice returns the bytes of the voice part v of in (FindVoice), with
// the transfer encoding removed. The reader streams from in.Body, which it
// rewinds first; it is valid until in.Body is read again. It returns
// ErrNoVoice when in has no audio part at v.Path.
func OpenVoice(in *Input, v Voice, lim Limits) (io.Reader, error) {
	var r io.Reader
	err := walkAudio(in, lim.withDefaults(), func(path string, _ bool, _ string, body io.Reader) bool {
		if path == v.Path {
			r = body
			return false
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, ErrNoVoice
	}
	return r, nil
}

// walkAudio visits the audio parts of the message (outside message/rfc822)
// in document order until fn returns false.
func walkAudio(in *Input, lim Limits, fn func(path string, voice bool, ctype string, body io.Reader) bool) error {
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
	var walk func(e *message.Entity, path string, depth int) (bool, error)
	walk = func(e *message.Entity, path string, depth int) (bool, error) {
		parts++
		if parts > lim.MaxParts || depth > lim.MaxDepth {
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
				cont, err := walk(p, childPath(path, i), depth+1)
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
	_, err = walk(root, "", 0)
	return err
}
