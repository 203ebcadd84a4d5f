// Reads and writes Hessian 2.0 with hessian.js for hessianjs_test.go.
//
// stdin:  {"decode": ["hex", ...], "encode": [value, ...]}
// stdout: {"decoded": [{"value": v} | {"error": "..."}, ...], "encoded": ["hex", ...]}
//
// Each hex string is one Hessian value to read; each value (JSON) is
// written as one Hessian value.
import hessian from 'hessian.js';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const req = JSON.parse(input);

const decoded = req.decode.map((h) => {
  try {
    return { value: hessian.decode(Buffer.from(h, 'hex'), '2.0') };
  } catch (e) {
    return { error: String(e && e.message || e) };
  }
});
const encoded = req.encode.map((v) => hessian.encode(v, '2.0').toString('hex'));
process.stdout.write(JSON.stringify({ decoded, encoded }));
