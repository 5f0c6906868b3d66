// The TypeScript types at the module edges are kept by hand beside their JSON
// Schemas (the data the validator uses). These tests compile the sources and
// compare each type with its schema key by key, so neither can change alone:
// the image manifest, the inventory as written, the build manifest and vRIO's
// module data.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { dataPath } from '../../lib/paths.js';
import { exportedTypeShapes, schemaTypeDrift } from '../support/schema-types.js';

const schema = (p: string) => JSON.parse(readFileSync(dataPath(p), 'utf8')) as Record<string, unknown>;

describe('types match their schemas', () => {
  test('image manifest: ImageManifest = builder/image/image-manifest.schema.json', () => {
    const { ImageManifest } = exportedTypeShapes(dataPath('builder/image/image-manifest.ts'), ['ImageManifest']);
    assert.deepEqual(schemaTypeDrift(schema('builder/image/image-manifest.schema.json'), ImageManifest, { optionality: true }), []);
  });

  test('inventory as written: RawInventory = provision/inventory.schema.json', () => {
    const { RawInventory } = exportedTypeShapes(dataPath('provision/inventory-types.ts'), ['RawInventory']);
    assert.deepEqual(schemaTypeDrift(schema('provision/inventory.schema.json'), RawInventory, { optionality: true }), []);
  });

  test('build manifest: the effective Manifest = builder/manifest.schema.json with every default filled in', () => {
    const { Manifest } = exportedTypeShapes(dataPath('builder/manifest.ts'), ['Manifest']);
    const drift = schemaTypeDrift(schema('builder/manifest.schema.json'), Manifest, {
      // Defaults fill every key, so optionality differs by design; these are derived on load.
      optionality: false,
      typeOnly: ['/file', '/origins', '/roles/*/name'],
      schemaOnly: ['/$schema'],
    });
    assert.deepEqual(drift, []);
  });

  test('vRIO module data: VrioModules = kernel-config/vrio-modules.schema.json', () => {
    const { VrioModules } = exportedTypeShapes(dataPath('lib/vrio-modules.ts'), ['VrioModules']);
    assert.deepEqual(schemaTypeDrift(schema('kernel-config/vrio-modules.schema.json'), VrioModules, { optionality: true }), []);
  });

  test('the comparison finds drift: a key, an optional flag, a value type and an enum member', () => {
    const s = {
      type: 'object',
      additionalProperties: false,
      required: ['a'],
      properties: { a: { type: 'string' }, b: { enum: ['x', 'y'] }, c: { type: 'array', items: { type: 'integer' } }, d: { type: 'boolean' } },
    };
    const t = (props: Record<string, [unknown, boolean]>) => ({
      k: 'object' as const,
      props: new Map(Object.entries(props).map(([k, [shape, optional]]) => [k, { shape: shape as never, optional }])),
    });
    const str = { k: 'string' },
      num = { k: 'number' },
      lit = (v: string) => ({ k: 'lit', v });
    const ok = t({ a: [str, false], b: [{ k: 'union', of: [lit('x'), lit('y')] }, true], c: [{ k: 'array', items: num }, true], d: [{ k: 'boolean' }, true] });
    assert.deepEqual(schemaTypeDrift(s, ok, { optionality: true }), []);
    const bad = t({ a: [str, true], b: [{ k: 'union', of: [lit('x'), lit('z')] }, true], c: [{ k: 'array', items: str }, true], e: [str, true] });
    assert.deepEqual(schemaTypeDrift(s, bad, { optionality: true }), [
      '/a: required in the schema, optional in the type',
      '/b: the schema allows "y", the type has no such member',
      '/b: the type allows "z", the schema does not',
      '/c/[]: the schema says number, the type string',
      '/d: in the schema, not in the type',
      '/e: in the type, not in the schema',
    ]);
  });
});
