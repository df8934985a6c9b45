// Run the ORIGINAL tfjs graph models (unpatched NAME.json + NAME.bin from the npm tarballs) on the
// tfjs CPU backend (pure JavaScript: no native binding, nothing downloaded) over the input tensors
// that compare.py wrote, and write every output as raw float32 for compare.py to read.
//
//   cd refcli/weights/convert && npm ci --ignore-scripts     # the versions package-lock.json pins
//   node check_tfjs.mjs WORK                                 # WORK: the folder `compare.py prepare` made
//
// Reads  WORK/inputs.json  ({model: [{key, shape, file}]}, files relative to WORK, float32 LE)
//        WORK/tfjs/MODEL.json + the .bin files its weightsManifest names
// Writes WORK/tfjs_out/MODEL/KEY/N.bin (float32 LE) and WORK/tfjs_out.json
//        ({model: {outputs: [names], runs: {key: [{name, shape, file}]}}}).

import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';

const work = process.argv[2];
if (!work) {
  console.error('usage: node check_tfjs.mjs WORK');
  process.exit(2);
}

function fileHandler(jsonPath) {
  // A tf.io.IOHandler that reads the model from disk (loadGraphModel would fetch() a URL).
  return {
    load: async () => {
      const model = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
      const weightSpecs = [];
      const buffers = [];
      for (const group of model.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const p of group.paths) buffers.push(fs.readFileSync(path.join(path.dirname(jsonPath), p)));
      }
      const all = Buffer.concat(buffers);
      return {
        modelTopology: model.modelTopology,
        weightSpecs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
        format: model.format,
        generatedBy: model.generatedBy,
        convertedBy: model.convertedBy,
        signature: model.signature,
        userDefinedMetadata: model.userDefinedMetadata,
      };
    },
  };
}

function readFloat32(file, shape) {
  const buf = fs.readFileSync(file);
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const expected = shape.reduce((a, b) => a * b, 1);
  if (data.length !== expected) throw new Error(`${file}: ${data.length} floats, shape ${shape} wants ${expected}`);
  return tf.tensor(Float32Array.from(data), shape, 'float32');
}

await tf.setBackend('cpu');
await tf.ready();
const inputs = JSON.parse(fs.readFileSync(path.join(work, 'inputs.json'), 'utf8'));
const result = {};
for (const [name, samples] of Object.entries(inputs)) {
  const model = await loadGraphModel(fileHandler(path.join(work, 'tfjs', `${name}.json`)));
  const outputs = model.outputNodes;
  result[name] = { outputs, runs: {} };
  const started = Date.now();
  for (const sample of samples) {
    const x = readFloat32(path.join(work, sample.file), sample.shape);
    let ys = model.execute(x, outputs);
    if (!Array.isArray(ys)) ys = [ys];
    const dir = path.join(work, 'tfjs_out', name, sample.key);
    fs.mkdirSync(dir, { recursive: true });
    result[name].runs[sample.key] = [];
    for (let i = 0; i < ys.length; i++) {
      const data = await ys[i].data();
      const file = path.join('tfjs_out', name, sample.key, `${i}.bin`);
      const f32 = Float32Array.from(data); // int outputs (none here) would be widened
      fs.writeFileSync(path.join(work, file), Buffer.from(f32.buffer));
      result[name].runs[sample.key].push({ name: outputs[i], shape: ys[i].shape, dtype: ys[i].dtype, file });
    }
    tf.dispose([x, ...ys]);
  }
  const ms = (Date.now() - started) / samples.length;
  console.log(`${name}: ${samples.length} inputs, outputs ${outputs.join(', ')} (${ms.toFixed(0)} ms per input)`);
  model.dispose();
}
fs.writeFileSync(path.join(work, 'tfjs_out.json'), JSON.stringify(result, null, 1));
console.log(`tfjs ${tf.version_core} backend ${tf.getBackend()}: wrote ${path.join(work, 'tfjs_out.json')}`);
