package msgjson

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// FromJSON reads one JSON value in the form ToJSON writes and returns its
// msgpack encoding, made as savekit's encoder makes it (smallest integer
// forms, floats at their width). Errors name the offset in the JSON.
func FromJSON(r io.Reader) ([]byte, error) {
	d := json.NewDecoder(r)
	d.UseNumber()
	var out bytes.Buffer
	enc := msgpack.NewEncoder(&out)
	w := writer{d: d, enc: enc}
	tok, err := d.Token()
	if err != nil {
		return nil, w.errf("%v", err)
	}
	if err := w.value(tok, 0); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, w.errf("more than one value")
	}
	return out.Bytes(), nil
}

type writer struct {
	d   *json.Decoder
	enc *msgpack.Encoder
}

func (w *writer) errf(format string, args ...any) error {
	return fmt.Errorf("msgjson: at JSON offset %d: %s", w.d.InputOffset(), fmt.Sprintf(format, args...))
}

func (w *writer) next() (json.Token, error) {
	t, err := w.d.Token()
	if err != nil {
		return nil, w.errf("%v", err)
	}
	return t, nil
}

func (w *writer) value(tok json.Token, depth int) error {
	if depth > MaxDepth {
		return w.errf("nesting deeper than %d", MaxDepth)
	}
	switch v := tok.(type) {
	case nil:
		return w.enc.EncodeNil()
	case bool:
		return w.enc.EncodeBool(v)
	case string:
		return w.enc.EncodeString(v)
	case json.Number:
		return w.number(v)
	case json.Delim:
		switch v {
		case '[':
			var items []json.RawMessage
			for w.d.More() {
				var raw json.RawMessage
				if err := w.d.Decode(&raw); err != nil {
					return w.errf("%v", err)
				}
				items = append(items, raw)
			}
			if _, err := w.next(); err != nil { // ]
				return err
			}
			if err := w.enc.EncodeArrayLen(len(items)); err != nil {
				return err
			}
			for _, raw := range items {
				if err := w.sub(raw, depth+1); err != nil {
					return err
				}
			}
			return nil
		case '{':
			return w.object(depth)
		}
	}
	return w.errf("unexpected %v", tok)
}

// sub encodes a nested raw JSON value with a decoder of its own (keeping
// order: the raw bytes are parsed token by token).
func (w *writer) sub(raw json.RawMessage, depth int) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	inner := writer{d: d, enc: w.enc}
	tok, err := d.Token()
	if err != nil {
		return w.errf("%v", err)
	}
	if err := inner.value(tok, depth); err != nil {
		return fmt.Errorf("%w (inside the value ending at offset %d)", err, w.d.InputOffset())
	}
	return nil
}

func (w *writer) number(n json.Number) error {
	s := string(n)
	if strings.ContainsAny(s, ".eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return w.errf("number %s: %v", s, err)
		}
		return w.enc.EncodeFloat64(f)
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return w.enc.EncodeInt(i)
	}
	u, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return w.errf("integer %s does not fit in 64 bits", s)
	}
	return w.enc.EncodeUint(u)
}

// object reads the members of an object, in order, and writes a map or,
// for the one-member "$" forms, the tagged value.
func (w *writer) object(depth int) error {
	type member struct {
		key string
		raw json.RawMessage
	}
	var ms []member
	for w.d.More() {
		kt, err := w.next()
		if err != nil {
			return err
		}
		key, _ := kt.(string)
		var raw json.RawMessage
		if err := w.d.Decode(&raw); err != nil {
			return w.errf("%v", err)
		}
		ms = append(ms, member{key, raw})
	}
	if _, err := w.next(); err != nil { // }
		return err
	}
	if len(ms) == 1 && strings.HasPrefix(ms[0].key, "$") {
		return w.tagged(ms[0].key, ms[0].raw, depth)
	}
	if err := w.enc.EncodeMapLen(len(ms)); err != nil {
		return err
	}
	for _, m := range ms {
		if strings.HasPrefix(m.key, "$") {
			return w.errf("key %q: keys starting with $ are written in the {\"$map\": ...} form", m.key)
		}
		if err := w.enc.EncodeString(m.key); err != nil {
			return err
		}
		if err := w.sub(m.raw, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (w *writer) tagged(tag string, raw json.RawMessage, depth int) error {
	var s string
	textual := json.Unmarshal(raw, &s) == nil
	switch tag {
	case "$float32", "$float64":
		bits := 64
		if tag == "$float32" {
			bits = 32
		}
		var f float64
		switch {
		case textual && s == "NaN":
			f = math.NaN()
		case textual && s == "+Inf":
			f = math.Inf(1)
		case textual && s == "-Inf":
			f = math.Inf(-1)
		case !textual:
			var err error
			if f, err = strconv.ParseFloat(strings.TrimSpace(string(raw)), bits); err != nil {
				return w.errf("%s: %v", tag, err)
			}
		default:
			return w.errf("%s: %q is not a number, NaN, +Inf or -Inf", tag, s)
		}
		if bits == 32 {
			return w.enc.EncodeFloat32(float32(f))
		}
		return w.enc.EncodeFloat64(f)
	case "$bin", "$string":
		if !textual {
			return w.errf("%s wants base64 in a string", tag)
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return w.errf("%s: %v", tag, err)
		}
		if tag == "$bin" {
			return w.enc.EncodeBytes(b)
		}
		return w.enc.EncodeString(string(b))
	case "$time":
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || !textual {
			return w.errf("$time wants an RFC 3339 time: %v", err)
		}
		return w.enc.EncodeTime(t)
	case "$map":
		var pairs [][2]json.RawMessage
		if err := json.Unmarshal(raw, &pairs); err != nil {
			return w.errf("$map wants a list of [key, value] pairs: %v", err)
		}
		if err := w.enc.EncodeMapLen(len(pairs)); err != nil {
			return err
		}
		for _, p := range pairs {
			if err := w.sub(p[0], depth+1); err != nil {
				return err
			}
			if err := w.sub(p[1], depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return w.errf("unknown tag %q", tag)
}
