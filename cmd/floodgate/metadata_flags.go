package main

import (
	"fmt"
	"strconv"

	"github.com/floodgate/floodgate/ratelimit"
)

// metadataFlag is --response-dynamic-metadata: a boolean, as
// envoyproxy/ratelimit's RESPONSE_DYNAMIC_METADATA, with one more value,
// "rules", for Floodgate's merge of the matched rules' `metadata` maps.
type metadataFlag struct{ mode ratelimit.MetadataMode }

func (f *metadataFlag) String() string {
	switch f.mode {
	case ratelimit.MetadataRequest:
		return "true"
	case ratelimit.MetadataRules:
		return "rules"
	}
	return "false"
}

func (f *metadataFlag) Set(s string) error {
	if s == "rules" {
		f.mode = ratelimit.MetadataRules
		return nil
	}
	on, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true, false or rules, got %q", s)
	}
	f.mode = ratelimit.MetadataOff
	if on {
		f.mode = ratelimit.MetadataRequest
	}
	return nil
}

// IsBoolFlag lets --response-dynamic-metadata stand alone for true.
func (f *metadataFlag) IsBoolFlag() bool { return true }
