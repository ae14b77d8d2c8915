package ratelimit

import (
	"errors"
	"fmt"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// decodeRequest decodes a RateLimitRequest as proto.Unmarshal does, with
// one difference: strings are taken as the bytes they are. Envoy copies
// header values into descriptors as it finds them, and proto.Unmarshal
// refuses a proto3 string that is not UTF-8; a request it refused would
// reach no limit, and behind Envoy's default failure_mode_deny: false it
// would be admitted. Unknown fields, and known fields of an unexpected wire
// type, are skipped as proto.Unmarshal skips them; a repeated message field
// merges into the one before it.
func decodeRequest(b []byte, m *rlsv3.RateLimitRequest) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			m.Domain = string(v)
		case num == 2 && typ == protowire.BytesType:
			d := new(commonrl.RateLimitDescriptor)
			if err := decodeDescriptor(v, d); err != nil {
				return fmt.Errorf("descriptor %d: %w", len(m.Descriptors), err)
			}
			m.Descriptors = append(m.Descriptors, d)
		case num == 3 && typ == protowire.VarintType:
			m.HitsAddend = uint32(x)
		}
		return nil
	})
}

func decodeDescriptor(b []byte, d *commonrl.RateLimitDescriptor) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			e := new(commonrl.RateLimitDescriptor_Entry)
			if err := decodeEntry(v, e); err != nil {
				return fmt.Errorf("entry %d: %w", len(d.Entries), err)
			}
			d.Entries = append(d.Entries, e)
		case num == 2 && typ == protowire.BytesType:
			if d.Limit == nil {
				d.Limit = new(commonrl.RateLimitDescriptor_RateLimitOverride)
			}
			if err := decodeOverride(v, d.Limit); err != nil {
				return fmt.Errorf("limit: %w", err)
			}
		case num == 3 && typ == protowire.BytesType:
			if d.HitsAddend == nil {
				d.HitsAddend = new(wrapperspb.UInt64Value)
			}
			if err := decodeUInt64Value(v, d.HitsAddend); err != nil {
				return fmt.Errorf("hits_addend: %w", err)
			}
		case num == 4 && typ == protowire.VarintType:
			d.IsNegativeHits = x != 0
		}
		return nil
	})
}

func decodeEntry(b []byte, e *commonrl.RateLimitDescriptor_Entry) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			e.Key = string(v)
		case num == 2 && typ == protowire.BytesType:
			e.Value = string(v)
		}
		return nil
	})
}

func decodeOverride(b []byte, o *commonrl.RateLimitDescriptor_RateLimitOverride) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			o.RequestsPerUnit = uint32(x)
		case num == 2 && typ == protowire.VarintType:
			o.Unit = typev3.RateLimitUnit(int32(x))
		case num == 3 && typ == protowire.BytesType:
			o.UnitMultiplier = new(wrapperspb.UInt32Value)
			return decodeUInt32Value(v, o.UnitMultiplier)
		}
		return nil
	})
}

func decodeUInt32Value(b []byte, w *wrapperspb.UInt32Value) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
		if num == 1 && typ == protowire.VarintType {
			w.Value = uint32(x)
		}
		return nil
	})
}

func decodeUInt64Value(b []byte, w *wrapperspb.UInt64Value) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
		if num == 1 && typ == protowire.VarintType {
			w.Value = x
		}
		return nil
	})
}

// eachField calls f with every field of the message encoded in b: v holds
// a length-delimited field's bytes, x a varint's value; fields of other
// wire types are checked and skipped.
func eachField(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return wireError(protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return wireError(protowire.ParseError(n))
		}
		b = b[n:]
		if typ == protowire.VarintType || typ == protowire.BytesType {
			if err := f(num, typ, v, x); err != nil {
				return err
			}
		}
	}
	return nil
}

// errBadWire is what every malformed encoding wraps.
var errBadWire = errors.New("malformed protobuf")

func wireError(err error) error { return fmt.Errorf("%w: %v", errBadWire, err) }
