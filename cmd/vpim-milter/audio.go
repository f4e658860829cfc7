package main

import (
	"fmt"
	"io"
	"time"

	"github.com/vpim-milter/vpim-milter/codec"
)

// audioCodec gives the profile engine the codec package (profile.AudioCodec),
// with the [codec] limits applied.
type audioCodec struct {
	maxDuration time.Duration
}

// Sniff names the format of the data starting with head ("" if unknown).
func (a audioCodec) Sniff(head []byte) string { return string(codec.Sniff(head)) }

// Transcode converts src from one format to another and returns the number
// of 8 kHz samples. Audio longer than max_duration is refused.
func (a audioCodec) Transcode(dst io.Writer, to string, src io.Reader, from string) (int64, error) {
	tf, err := codec.ParseFormat(to)
	if err != nil {
		return 0, err
	}
	var ff codec.Format
	if from != "" {
		if ff, err = codec.ParseFormat(from); err != nil {
			return 0, err
		}
	}
	n, err := codec.Transcode(dst, tf, src, ff)
	if err != nil {
		return n, err
	}
	if max := int64(a.maxDuration / time.Second * 8000); max > 0 && n > max {
		return n, fmt.Errorf("audio is %s long, longer than codec.max_duration %s", time.Duration(n)*time.Second/8000, a.maxDuration)
	}
	return n, nil
}
