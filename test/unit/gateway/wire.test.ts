import { describe, expect, test } from 'vitest';
import { encodeBase64, encodeEmbeddingsResponse, MAX_INPUTS, parseEmbeddingsRequest, WireError } from '../../../src/gateway/wire.ts';

const refusal = (body: unknown) => {
  try {
    parseEmbeddingsRequest(body);
  } catch (e) {
    expect(e).toBeInstanceOf(WireError);
    const w = e as WireError;
    return { status: w.status, ...w.body().error };
  }
  throw new Error('accepted');
};

describe('parseEmbeddingsRequest', () => {
  test('takes all four input shapes, in order', () => {
    const model = 'openai/text-embedding-3-small';
    expect(parseEmbeddingsRequest({ model, input: 'one' }).inputs).toEqual([{ text: 'one' }]);
    expect(parseEmbeddingsRequest({ model, input: ['a', 'b'] }).inputs).toEqual([{ text: 'a' }, { text: 'b' }]);
    expect(parseEmbeddingsRequest({ model, input: [1, 2, 3] }).inputs).toEqual([{ tokens: [1, 2, 3] }]);
    expect(parseEmbeddingsRequest({ model, input: [[1], [2, 3]] }).inputs).toEqual([{ tokens: [1] }, { tokens: [2, 3] }]);
    expect(parseEmbeddingsRequest({ model, input: ['a', [7]] }).inputs).toEqual([{ text: 'a' }, { tokens: [7] }]);
  });

  test('defaults: float, document; dimensions, user and input_type are read', () => {
    expect(parseEmbeddingsRequest({ model: 'm/x', input: 'a' })).toEqual({ model: 'm/x', inputs: [{ text: 'a' }], encoding: 'float', inputType: 'document' });
    expect(parseEmbeddingsRequest({ model: 'm/x', input: 'a', encoding_format: 'base64', dimensions: 256, user: 'u1', input_type: 'query' })).toEqual({
      model: 'm/x', inputs: [{ text: 'a' }], encoding: 'base64', dimensions: 256, user: 'u1', inputType: 'query',
    });
  });

  test('every refusal is a 400 in the OpenAI envelope naming its param', () => {
    expect(refusal({ model: 'm/x', input: '' })).toMatchObject({ status: 400, type: 'invalid_request_error', param: 'input', code: 'empty_input' });
    expect(refusal({ model: 'm/x', input: ['a', ''] })).toMatchObject({ param: 'input[1]', code: 'empty_input' });
    expect(refusal({ model: 'm/x', input: [] })).toMatchObject({ param: 'input' });
    expect(refusal({ model: 'm/x', input: Array(MAX_INPUTS + 1).fill('x') })).toMatchObject({ param: 'input', code: 'too_many_inputs' });
    expect(refusal({ model: 'm/x', input: ['a', 1.5] })).toMatchObject({ param: 'input[1]' });
    expect(refusal({ model: 'm/x', input: [[1, -2]] })).toMatchObject({ param: 'input[0]' });
    expect(refusal({ input: 'a' })).toMatchObject({ param: 'model' });
    expect(refusal({ model: 'm/x' })).toMatchObject({ param: 'input' });
    expect(refusal({ model: 'm/x', input: 'a', encoding_format: 'int8' })).toMatchObject({ param: 'encoding_format' });
    expect(refusal({ model: 'm/x', input: 'a', dimensions: 0 })).toMatchObject({ param: 'dimensions' });
    expect(refusal({ model: 'm/x', input: 'a', input_type: 'passage' })).toMatchObject({ param: 'input_type' });
    expect(refusal({ model: 'm/x', input: 'a', temprature: 1 })).toMatchObject({ param: 'temprature', code: 'unknown_parameter' });
    expect(refusal([1, 2])).toMatchObject({ param: 'body' });
    expect(Array(MAX_INPUTS).fill('x').length).toBe(parseEmbeddingsRequest({ model: 'm/x', input: Array(MAX_INPUTS).fill('x') }).inputs.length);
  });
});

describe('encoding', () => {
  const v = new Float32Array([0.1, -0.25, 1 / 3, 0]);

  test('base64 is the little-endian float32 bytes', () => {
    const bytes = Buffer.from(encodeBase64(v), 'base64');
    expect(bytes.length).toBe(16);
    expect([0, 1, 2, 3].map((i) => bytes.readFloatLE(i * 4))).toEqual(Array.from(v));
  });

  test('the response is valid JSON with vectors in order and their float32 values exact', () => {
    const w = new Float32Array([0.5, 0.5, 0.5, 0.5]);
    const float = JSON.parse(encodeEmbeddingsResponse([v, w], 'float', 'openai/text-embedding-3-small', 7));
    expect(float).toMatchObject({ object: 'list', model: 'openai/text-embedding-3-small', usage: { prompt_tokens: 7, total_tokens: 7 } });
    expect(float.data.map((d: { index: number }) => d.index)).toEqual([0, 1]);
    expect(Float32Array.from(float.data[0].embedding)).toEqual(v);
    const b64 = JSON.parse(encodeEmbeddingsResponse([v], 'base64', 'm', 1));
    expect(new Float32Array(Uint8Array.from(Buffer.from(b64.data[0].embedding, 'base64')).buffer)).toEqual(v);
  });
});
