package scripts_test

import (
	"testing"

	"github.com/pipy-go/pipy/filters"
)

func TestDataConstructors(t *testing.T) {
	h := newHarness(t)
	got := h.results(`
t('empty', () => new Data().size);
t('emptyStr', () => new Data().toString());
t('undef', () => new Data(undefined).size);
t('sized', () => new Data(3).size);
t('sizedHex', () => new Data(3).toString('hex'));
t('sizedFloat', () => new Data(2.7).size);
t('negative', () => new Data(-1).size);
t('utf8', () => new Data('abc').toString());
t('utf8size', () => new Data('é').size);
t('utf8enc', () => new Data('abc', 'utf8').toString());
t('hex', () => new Data('616263', 'hex').toString());
t('hexUpper', () => new Data('4A4b', 'hex').toString());
t('hdex', () => new Data('616263', 'hdex').toString());
t('hexEmpty', () => new Data('', 'hex').size);
t('base64', () => new Data('aGVsbG8=', 'base64').toString());
t('base64NoPad', () => new Data('aGVsbG8', 'base64'));
t('base64Bad', () => new Data('aGV$bG8=', 'base64'));
t('base64url', () => new Data('-_8', 'base64url').toString('hex'));
t('base64urlPad', () => new Data('-_8=', 'base64url').toString('hex'));
t('base64urlText', () => new Data('aGVsbG8', 'base64url').toString());
t('base64urlTextPad', () => new Data('aGVsbG8=', 'base64url').toString());
t('base64urlBad', () => new Data('a+b/', 'base64url'));
t('unknownEnc', () => new Data('abc', 'latin9'));
t('hexOdd', () => new Data('616', 'hex'));
t('hexBad', () => new Data('zz', 'hex'));
t('hdexBad', () => new Data('6g', 'hdex'));
t('copy', () => { const a = new Data('xy'); const b = new Data(a); a.push('z'); return a.toString() + ',' + b.toString(); });
t('badArg', () => new Data({}));
t('badBool', () => new Data(true));
t('instanceof', () => new Data('a') instanceof Data);
t('proto', () => Object.getPrototypeOf(new Data()) === Data.prototype);
t('notMessageStart', () => new Data() instanceof MessageStart);
t('sizeReadOnly', () => { const d = new Data('ab'); d.size = 10; return d.size; });
`)
	checkResults(t, got, map[string]any{
		"empty":            0,
		"emptyStr":         "",
		"undef":            0,
		"sized":            3,
		"sizedHex":         "000000",
		"sizedFloat":       2,
		"negative":         0,
		"utf8":             "abc",
		"utf8size":         2,
		"utf8enc":          "abc",
		"hex":              "abc",
		"hexUpper":         "JK",
		"hdex":             "abc",
		"hexEmpty":         0,
		"base64":           "hello",
		"base64NoPad":      "ERR:incomplete Base64 string",
		"base64Bad":        "ERR:invalid Base64 encoding",
		"base64url":        "fbff",
		"base64urlPad":     "fbff",
		"base64urlText":    "hello",
		"base64urlTextPad": "hello",
		"base64urlBad":     "ERR:invalid Base64Url encoding",
		"unknownEnc":       "ERR:unknown encoding",
		"hexOdd":           "ERR:incomplete hex string",
		"hexBad":           "ERR:invalid hex string",
		"hdexBad":          "ERR:invalid hex string",
		"copy":             "xyz,xy",
		"badArg":           "ERR:argument #1 expects a number or a string or a Data object",
		"badBool":          "ERR:argument #1 expects a number or a string or a Data object",
		"instanceof":       true,
		"proto":            true,
		"notMessageStart":  false,
		"sizeReadOnly":     2,
	})
}

func TestDataMethods(t *testing.T) {
	h := newHarness(t)
	got := h.results(`
t('pushChain', () => { const d = new Data('a'); return d.push('b') === d; });
t('pushStr', () => new Data('a').push('b').push('c').toString());
t('pushData', () => { const d = new Data('a'); d.push(new Data('xy')); return d.toString() + d.size; });
t('pushDataKeepsArg', () => { const x = new Data('xy'); new Data('a').push(x); return x.toString(); });
t('pushUtf8', () => new Data().push('é').size);
t('pushNumber', () => new Data('a').push(42));
t('pushObject', () => new Data('a').push({}));
t('pushNothing', () => new Data('a').push());
t('shift', () => { const d = new Data('abcdef'); const s = d.shift(2); return s.toString() + '|' + d.toString() + '|' + s.size + '|' + d.size + '|' + (s instanceof Data); });
t('shiftAll', () => { const d = new Data('abc'); const s = d.shift(10); return s.toString() + '|' + d.size; });
t('shiftZero', () => { const d = new Data('abc'); return d.shift(0).size + '|' + d.toString(); });
t('pushSelf', () => { const d = new Data('ab').push('c'); return d.push(d).toString(); });
t('shiftChunks', () => { const d = new Data('ab').push('cd').push('ef'); const s = d.shift(3); return s.toString() + '|' + d.toString() + '|' + d.size; });
t('shiftChunks2', () => { const d = new Data('ab').push('cd').push('ef'); d.shift(1); d.push('g'); const s = d.shift(4); return s.toString() + '|' + d.toString() + '|' + d.size; });
t('cloneIndependent', () => { const a = new Data('abcd'); const b = new Data(a); a.shift(2); b.push('e'); return a.toString() + '|' + b.toString(); });
t('toStringHex', () => new Data('abc').toString('hex'));
t('toStringBase64', () => new Data('hello').toString('base64'));
t('string', () => String(new Data('xyz')));
t('concat', () => 'v=' + new Data('1'));
t('thisCheck', () => Data.prototype.push.call({}, 'a'));
`)
	checkResults(t, got, map[string]any{
		"pushChain":        true,
		"pushStr":          "abc",
		"pushData":         "axy3",
		"pushDataKeepsArg": "xy",
		"pushUtf8":         2,
		"pushNumber":       "ERR:argument #1 expects a Data or a string",
		"pushObject":       "ERR:argument #1 expects a Data or a string",
		"pushNothing":      "ERR:argument #1 expects a Data or a string",
		"shift":            "ab|cdef|2|4|true",
		"shiftAll":         "abc|0",
		"shiftZero":        "0|abc",
		"pushSelf":         "abcabc",
		"shiftChunks":      "abc|def|3",
		"shiftChunks2":     "bcde|fg|2",
		"cloneIndependent": "cd|abcde",
		"toStringHex":      "616263",
		"toStringBase64":   "aGVsbG8=",
		"string":           "xyz",
		"concat":           "v=1",
		"thisCheck":        "ERR:not a Data object",
	})
}

func TestDataInvalidUTF8ToString(t *testing.T) {
	h := newHarness(t)
	got := h.results(`t('s', () => new Data('ff41', 'hex').toString());`)
	checkResults(t, got, map[string]any{"s": "\uFFFDA"})
}

func TestEventClasses(t *testing.T) {
	h := newHarness(t)
	got := h.results(`
t('msHead', () => new MessageStart({a: 1}).head.a);
t('msNoHead', () => new MessageStart().head);
t('msNullHead', () => new MessageStart(null).head);
t('msBadHead', () => new MessageStart(42));
t('msInstance', () => new MessageStart() instanceof MessageStart);
t('meInstance', () => new MessageEnd() instanceof MessageEnd);
t('meNoTail', () => new MessageEnd().tail);
t('meTail', () => new MessageEnd({'grpc-status': '0'}).tail['grpc-status']);
t('meBadTail', () => new MessageEnd('x'));
t('seInstance', () => new SessionEnd() instanceof SessionEnd);
t('seNoError', () => new SessionEnd().error);
t('seRefused', () => new SessionEnd('ConnectionRefused').error);
t('seRuntime', () => new SessionEnd('RuntimeError').error);
t('seUnknown', () => new SessionEnd('Whatever').error);
t('sameBase', () => Object.getPrototypeOf(Data.prototype) === Object.getPrototypeOf(SessionEnd.prototype) &&
                    Object.getPrototypeOf(MessageStart.prototype) === Object.getPrototypeOf(MessageEnd.prototype) &&
                    Object.getPrototypeOf(Data.prototype) === Object.getPrototypeOf(MessageEnd.prototype));
t('messageNotEvent', () => Object.getPrototypeOf(Message.prototype) === Object.getPrototypeOf(Data.prototype));
`)
	checkResults(t, got, map[string]any{
		"msHead":          1,
		"msNoHead":        nil,
		"msNullHead":      nil,
		"msBadHead":       "ERR:argument #1 expects an object",
		"msInstance":      true,
		"meInstance":      true,
		"meNoTail":        nil,
		"meTail":          "0",
		"meBadTail":       "ERR:argument #1 expects an object",
		"seInstance":      true,
		"seNoError":       "",
		"seRefused":       "ConnectionRefused",
		"seRuntime":       "RuntimeError",
		"seUnknown":       "UnknownError",
		"sameBase":        true,
		"messageNotEvent": false,
	})
}

func TestSessionEndErrorNames(t *testing.T) {
	h := newHarness(t)
	got := h.results(`
['UnknownError', 'RuntimeError', 'ReadError', 'CannotResolve', 'ConnectionRefused', 'Unauthorized', 'BufferOverflow']
  .forEach(n => t(n, () => new SessionEnd(n).error));
`)
	for _, n := range []string{"UnknownError", "RuntimeError", "ReadError", "CannotResolve", "ConnectionRefused", "Unauthorized", "BufferOverflow"} {
		checkResults(t, got, map[string]any{n: n})
	}
}

func TestMessageConstructor(t *testing.T) {
	h := newHarness(t)
	got := h.results(`
const body = m => m.body === null ? 'null' : m.body.toString();
const head = m => m.head === null ? 'null' : JSON.stringify(m.head);
const desc = m => head(m) + '|' + body(m);
t('none', () => desc(new Message()));
t('null', () => desc(new Message(null)));
t('undef', () => desc(new Message(undefined)));
t('data', () => desc(new Message(new Data('abc'))));
t('string', () => desc(new Message('hello')));
t('emptyString', () => desc(new Message('')));
t('headString', () => desc(new Message({a: 1}, 'text')));
t('headData', () => desc(new Message({a: 1}, new Data('bin'))));
t('headOnly', () => desc(new Message({a: 1})));
t('headNull', () => desc(new Message({a: 1}, null)));
t('headUndefined', () => desc(new Message({a: 1}, undefined)));
t('headNumber', () => desc(new Message({a: 1}, 42)));
t('nullBody', () => desc(new Message(null, 'x')));
t('number', () => new Message(42));
t('bool', () => new Message(true));
t('instanceof', () => new Message() instanceof Message);
t('bodyIsData', () => new Message('x').body instanceof Data);
t('headSame', () => { const h = {a: 1}; return new Message(h).head === h; });
`)
	checkResults(t, got, map[string]any{
		"none":          "null|null",
		"null":          "null|null",
		"undef":         "null|null",
		"data":          "null|abc",
		"string":        "null|hello",
		"emptyString":   "null|",
		"headString":    `{"a":1}|text`,
		"headData":      `{"a":1}|bin`,
		"headOnly":      `{"a":1}|null`,
		"headNull":      `{"a":1}|null`,
		"headUndefined": `{"a":1}|null`,
		"headNumber":    `{"a":1}|42`,
		"nullBody":      "null|x",
		"number":        "ERR:argument #1 expects an object",
		"bool":          "ERR:argument #1 expects an object",
		"instanceof":    true,
		"bodyIsData":    true,
		"headSame":      true,
	})
}

// Events received by callbacks are instances of the script classes.
func TestEventsInCallbacks(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy({_g: {log: []}})
.pipeline('p')
  .onMessageStart(e => _g.log.push('MS:' + (e instanceof MessageStart) + ':' + JSON.stringify(e.head)))
  .onData(e => _g.log.push('D:' + (e instanceof Data) + ':' + e.toString() + ':' + e.size))
  .onMessageEnd(e => _g.log.push('ME:' + (e instanceof MessageEnd)))
  .onSessionEnd(e => _g.log.push('SE:' + (e instanceof SessionEnd) + ':' + e.error))
  .onMessage(m => _g.log.push('M:' + (m instanceof Message) + ':' + m.body.toString()))
  .replaceMessage(m => new Message({status: 200}, new Data('6869', 'hex').push(m.body)))
`)
	rt := runtimeOf(prog)
	pl := pipelineOf(t, prog, "p")
	out := &sink{}
	h.env.Loop.Enter()
	s := pl.NewSession(prog.NewContext(nil), out)
	s.Input(&filters.MessageStart{Head: rt.ToValue(map[string]any{"x": 1})})
	s.Input(filters.NewDataString("ab"))
	s.Input(filters.NewDataString("c"))
	s.Input(filters.TheMessageEnd)
	s.Input(&filters.SessionEnd{Err: filters.ReadError})
	h.env.Loop.Leave()

	g := prog.Root.VarInit[prog.Root.VarIndex["_g"]].ToObject(rt)
	log := g.Get("log").Export().([]any)
	want := []string{"MS:true:{\"x\":1}", "D:true:ab:2", "D:true:c:1", "ME:true", "M:true:abc", "SE:true:ReadError"}
	if len(log) != len(want) {
		t.Fatalf("callback log %v, want %v", log, want)
	}
	for i := range want {
		if log[i] != want[i] {
			t.Errorf("log[%d] = %v, want %v", i, log[i], want[i])
		}
	}
	if out.kinds() != "MessageStart Data MessageEnd SessionEnd" {
		t.Fatalf("output %s", out.kinds())
	}
	if got := out.body(); got != "hiabc" {
		t.Errorf("body %q", got)
	}
	ms := out.events[0].(*filters.MessageStart)
	if v, ok := ms.Head.(interface{ Export() any }); !ok || v.Export().(map[string]any)["status"] != int64(200) {
		t.Errorf("head %#v", ms.Head)
	}
	if end := out.end(); end.Err != filters.ReadError {
		t.Errorf("end %v", end.Err)
	}
}

// Events and Messages made by callbacks go through to the output.
func TestEventsReturnedByCallbacks(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy()
.pipeline('p')
  .replaceMessage(() => [new MessageStart({a: 1}), new Data('x'), 'bad'])
.pipeline('q')
  .replaceMessage(() => [new Message('m1'), null, new Message(), new SessionEnd('Unauthorized')])
`)
	out := h.runMessage(prog, "q", nil)
	if out.kinds() != "MessageStart Data MessageEnd MessageStart MessageEnd SessionEnd" {
		t.Errorf("q output %s", out.kinds())
	}
	if end := out.end(); end == nil || end.Err != filters.Unauthorized {
		t.Errorf("q end %v", end)
	}
	out = h.runMessage(prog, "p", nil)
	if out.kinds() != "MessageStart Data" {
		t.Errorf("p output %s", out.kinds())
	}
	if !h.hasLogLine("[replaceMessage] not an Event object") {
		t.Errorf("log:\n%s", h.log.String())
	}
}
