// Mounts test/browser/BoxEditorHarness.svelte for test/e2e/box-editor.e2e.ts.
import { mount } from 'svelte';
import Harness from './BoxEditorHarness.svelte';
import type { EditorBox } from '../../src/lib/detect/box-editor';

const log: { changes: EditorBox[][]; events: string[]; setBoxes?: (b: EditorBox[]) => void } = { changes: [], events: [] };
(window as unknown as { __boxEditor: typeof log }).__boxEditor = log;
mount(Harness, { target: document.getElementById('app')!, props: { log } });
