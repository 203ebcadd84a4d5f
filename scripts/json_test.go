package scripts_test

import "testing"

func TestJSONParse(t *testing.T) {
	h := newHarness(t)
	got := h.results(`
t('invalid', () => JSON.parse('{') === undefined);
t('invalidTrailing', () => JSON.parse('[1,]') === undefined);
t('empty', () => JSON.parse('') === undefined);
t('noArg', () => JSON.parse() === undefined);
t('valid', () => { const v = JSON.parse('{"a":[1,2,{"b":null}],"c":"s"}'); return v.a[2].b === null && v.a.length + ':' + v.c; });
t('number', () => JSON.parse('42'));
t('string', () => JSON.parse('"hi"'));
t('reviver', () => JSON.parse('{"a":1,"b":2}', (k, v) => typeof v === 'number' ? v * 10 : v).b);
`)
	checkResults(t, got, map[string]any{
		"invalid": true, "invalidTrailing": true, "empty": true, "noArg": true,
		"valid": "3:s", "number": 42, "string": "hi", "reviver": 20,
	})
}

func TestJSONDecode(t *testing.T) {
	h := newHarness(t)
	got := h.results(`
t('data', () => { const v = JSON.decode(new Data('{"a":[1,"x"]}')); return v.a[0] + v.a[1]; });
t('invalid', () => JSON.decode(new Data('{nope')) === undefined);
t('emptyData', () => JSON.decode(new Data()) === undefined);
t('null', () => JSON.decode(null) === undefined);
t('undefined', () => JSON.decode(undefined) === undefined);
t('string', () => JSON.decode('{"a":1}') === undefined);
t('utf8', () => JSON.decode(new Data('"h\u00e9"')));
t('dataUnchanged', () => { const d = new Data('[1]'); JSON.decode(d); return d.size; });
`)
	checkResults(t, got, map[string]any{
		"data": "1x", "invalid": true, "emptyData": true, "null": true, "undefined": true,
		"string": true, "utf8": "h\u00e9", "dataUnchanged": 3,
	})
}

func TestJSONEncode(t *testing.T) {
	h := newHarness(t)
	got := h.results(`
t('isData', () => JSON.encode({a: 1}) instanceof Data);
t('text', () => JSON.encode({a: 1, b: [true, null, 'x']}).toString());
t('size', () => JSON.encode('h\u00e9').size);
t('undefined', () => JSON.encode(undefined) === undefined);
t('function', () => JSON.encode(() => 1) === undefined);
t('replacerFn', () => JSON.encode({a: 1, b: 'x'}, (k, v) => typeof v === 'number' ? v * 10 : v).toString());
t('replacerArray', () => JSON.encode({a: 1, b: 2, c: 3}, ['a', 'c']).toString());
t('space', () => JSON.encode({a: [1]}, null, 2).toString());
t('spaceClamped', () => JSON.encode({a: 1}, null, 20).toString());
t('stringifyUndefined', () => JSON.stringify(undefined) === undefined);
t('omit', () => JSON.stringify({a: undefined, f: () => 1, n: NaN, i: Infinity, arr: [undefined, () => 1, NaN]}));
t('fraction', () => JSON.stringify([2.5, 3.14159265, -0.1, 1e21]));
t('emptyIndented', () => JSON.stringify({a: [], b: {}}, null, 1));
t('control', () => JSON.stringify('\u0007\u000b\b\f\n\r\t"\\'));
t('order', () => JSON.stringify({z: 1, a: 2, m: 3}));
`)
	checkResults(t, got, map[string]any{
		"isData":             true,
		"text":               `{"a":1,"b":[true,null,"x"]}`,
		"size":               5,
		"undefined":          true,
		"function":           true,
		"replacerFn":         `{"a":10,"b":"x"}`,
		"replacerArray":      `{"a":1,"c":3}`,
		"space":              "{\n  \"a\": [\n    1\n  ]\n}",
		"spaceClamped":       "{\n          \"a\": 1\n}",
		"stringifyUndefined": true,
		"omit":               `{"n":null,"i":null,"arr":[null,null,null]}`,
		"fraction":           `[2.5,3.14159265,-0.1,1e+21]`,
		"emptyIndented":      "{\n \"a\": [],\n \"b\": {}\n}",
		"control":            `"\u0007\u000b\b\f\n\r\t\"\\"`,
		"order":              `{"z":1,"a":2,"m":3}`,
	})
}

// The replacer is called for every property and element, first for the
// root; spec (recommended): ECMAScript plus the holder as third argument.
func TestJSONReplacerCalls(t *testing.T) {
	h := newHarness(t)
	got := h.results(`
t('calls', () => { const seen = []; JSON.stringify({a: [1]}, function (k, v) { seen.push(JSON.stringify(k) + '=' + (typeof v)); return v; }); return seen.join(' '); });
t('this', () => { const seen = []; const o = {a: 1}; JSON.stringify(o, function (k, v) { seen.push(k === 'a' ? this === o : this[''] === o); return v; }); return seen.join(','); });
t('holderArg', () => { const seen = []; const o = {a: 1}; JSON.stringify(o, (k, v, h) => { seen.push(k === 'a' ? h === o : typeof h); return v; }); return seen.join(','); });
`)
	checkResults(t, got, map[string]any{
		"calls": `""=object "a"=object "0"=number`,
		"this":  "true,true",
	})
	if g := got["holderArg"]; g != "object,true" {
		t.Errorf("replacer's third argument (holder): got %v, want \"object,true\"", g)
	}
}
