package ratelimit

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/protobuf/encoding/protojson"
)

// unmarshalJSONRequest decodes a /json body. A caller that relays header
// bytes as Envoy does may send strings that are not UTF-8; protojson
// refuses the whole body then, so each byte that is not UTF-8 travels
// through protojson as a stand-in rune from a block of the private use area
// the body does not use, and is put back afterwards: the request is limited
// by the bytes it carries, as on gRPC.
func unmarshalJSONRequest(body []byte, req *rlsv3.RateLimitRequest) error {
	if utf8.Valid(body) {
		return protojson.Unmarshal(body, req)
	}
	base, ok := freeStandIns(body)
	if !ok {
		return errors.New("invalid UTF-8 in a body that uses every private-use block Floodgate could stand it in with")
	}
	var b []byte
	for i := 0; i < len(body); {
		r, size := utf8.DecodeRune(body[i:])
		if r == utf8.RuneError && size == 1 {
			b = utf8.AppendRune(b, base+rune(body[i]))
		} else {
			b = append(b, body[i:i+size]...)
		}
		i += size
	}
	if err := protojson.Unmarshal(b, req); err != nil {
		return err
	}
	req.Domain = putBack(req.Domain, base)
	for _, d := range req.Descriptors {
		for _, e := range d.Entries {
			e.Key, e.Value = putBack(e.Key, base), putBack(e.Value, base)
		}
	}
	return nil
}

// Stand-ins come from the supplementary private use area A, in blocks of
// 256 runes, one per byte value.
const (
	standInFirst  = 0xF0000
	standInBlocks = 255
)

// freeStandIns returns the first block of stand-ins no rune of body falls
// in, written raw or as a JSON \u escape.
func freeStandIns(body []byte) (rune, bool) {
	var used [standInBlocks]bool
	mark := func(r rune) {
		if i := (r - standInFirst) >> 8; r >= standInFirst && i < standInBlocks {
			used[i] = true
		}
	}
	for i := 0; i < len(body); {
		r, size := utf8.DecodeRune(body[i:])
		mark(r)
		if r == '\\' && i+12 <= len(body) && body[i+1] == 'u' && body[i+6] == '\\' && body[i+7] == 'u' {
			hi, err1 := strconv.ParseUint(string(body[i+2:i+6]), 16, 16)
			lo, err2 := strconv.ParseUint(string(body[i+8:i+12]), 16, 16)
			if err1 == nil && err2 == nil {
				mark(utf16.DecodeRune(rune(hi), rune(lo)))
			}
		}
		i += size
	}
	for i, u := range used {
		if !u {
			return standInFirst + rune(i)<<8, true
		}
	}
	return 0, false
}

// putBack turns the stand-ins from base in s back into the bytes they
// stand for.
func putBack(s string, base rune) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r >= base && r < base+256 }) {
		return s
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r >= base && r < base+256 {
			b = append(b, byte(r-base))
		} else {
			b = utf8.AppendRune(b, r)
		}
	}
	return string(b)
}
