package msgjson

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/savekit/savekit/format"
)

// sdkEncode encodes v as savekit's format does.
func sdkEncode(t testing.TB, v any) []byte {
	b, err := format.MarshalBody(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type inner struct {
	Name  string
	Power float32
}

type doc struct {
	I8     int8
	I64    int64
	U64    uint64
	Neg    int
	F32    float32
	F64    float64
	Whole  float64
	NaN    float64
	Inf    float32
	Str    string
	Quote  string
	Bin    []byte
	When   time.Time
	Old    time.Time
	Nil    *int
	List   []any
	Inner  inner
	IntMap map[int]string
	Dollar map[string]int
	Empty  map[string]int
	Arr    []int
}

// TestRoundTripIsByteExact: what savekit writes comes back byte for byte.
func TestRoundTripIsByteExact(t *testing.T) {
	v := doc{
		I8: -5, I64: -1 << 40, U64: math.MaxUint64, Neg: -129, F32: 1.5, F64: 0.1, Whole: 3,
		NaN: math.NaN(), Inf: float32(math.Inf(-1)), Str: "héllo <&>", Quote: "a\"b\\c\n",
		Bin: []byte{0, 1, 0xff}, When: time.Unix(1700000000, 123456789).UTC(), Old: time.Unix(5, 0).UTC(),
		List: []any{1, "two", 3.5, nil, true, []any{}}, Inner: inner{"sword", 0.25},
		IntMap: map[int]string{7: "seven"}, Dollar: map[string]int{"$x": 1}, Empty: map[string]int{},
		Arr: []int{1, 2, 3},
	}
	orig := sdkEncode(t, v)
	var js bytes.Buffer
	if err := ToJSON(&js, orig); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"F32": {"$float32": 1.5}`, `"Whole": 3.0`, `"U64": 18446744073709551615`,
		`"NaN": {"$float64": "NaN"}`, `"Inf": {"$float32": "-Inf"}`, `"Bin": {"$bin": "AAH/"}`,
		`"When": {"$time": "2023-11-14T22:13:20.123456789Z"}`, `{"$map": [`, `"Quote": "a\"b\\c\n"`, `"héllo <&>"`} {
		if !strings.Contains(js.String(), want) {
			t.Errorf("JSON lacks %s:\n%s", want, js.String())
		}
	}
	back, err := FromJSON(bytes.NewReader(js.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, orig) {
		t.Fatalf("round trip changed the bytes:\n% x\n% x\n%s", orig, back, js.String())
	}
}

func TestFromJSONErrors(t *testing.T) {
	for _, bad := range []string{
		`{"$float32": "x"}`, `{"$bin": "***"}`, `{"$time": "yesterday"}`, `{"$nope": 1}`,
		`{"a": 1, "$b": 2}`, `123456789012345678901234567890`, `[1, 2`, `1 2`,
		strings.Repeat("[", MaxDepth+2) + strings.Repeat("]", MaxDepth+2),
	} {
		if _, err := FromJSON(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{0x81, 0xa1, 'a', 0x01})
	f.Add(sdkEncode(f, map[string]any{"x": []any{1.5, float32(2), "s", []byte{1}}}))
	f.Add([]byte{0x82, 0x01, 0x02, 0xa1, '$', 0xc0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var js bytes.Buffer
		if err := ToJSON(&js, b); err != nil {
			return // not a document this package shows
		}
		back, err := FromJSON(bytes.NewReader(js.Bytes()))
		if err != nil {
			t.Fatalf("JSON ToJSON wrote does not read back: %v\n%s", err, js.String())
		}
		// Same values: showing the result again gives the same JSON.
		var js2 bytes.Buffer
		if err := ToJSON(&js2, back); err != nil {
			t.Fatal(err)
		}
		if js.String() != js2.String() {
			t.Fatalf("values changed:\n%s\n%s", js.String(), js2.String())
		}
	})
}
