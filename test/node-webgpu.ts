// WebGPU in Node for the kernel tests and benchmarks: Dawn from the `webgpu` npm package,
// installed as navigator.gpu before @tensorflow/tfjs-backend-webgpu is imported (it checks for
// WebGPU when it loads). Without a GPU, Dawn runs on SwiftShader's Vulkan driver, which
// Debian's chromium package ships in /usr/lib/chromium with its own libvulkan.so.1.
import { existsSync } from 'node:fs';

const CHROMIUM_DIR = '/usr/lib/chromium';
const SWIFTSHADER_ICD = `${CHROMIUM_DIR}/vk_swiftshader_icd.json`;
// glibc's dlopen flags: RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE (Node's os.constants lacks the last).
const RTLD_NOW_GLOBAL_NODELETE = 0x2 | 0x100 | 0x1000;

export interface NodeWebGpu {
  adapter: GPUAdapter;
  /** "vendor architecture description" of the adapter Dawn picked. */
  description: string;
  software: boolean;
}

let installed: Promise<NodeWebGpu> | null = null;

/**
 * Installs navigator.gpu (once) and resolves with the adapter, or rejects saying why WebGPU
 * cannot start. Uses VK_ICD_FILENAMES when set (a real GPU's Vulkan driver), else SwiftShader.
 */
export function installNodeWebGpu(): Promise<NodeWebGpu> {
  installed ??= install();
  return installed;
}

async function install(): Promise<NodeWebGpu> {
  if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  // Dawn dlopens "libvulkan.so.1" by name. Debian's chromium ships one outside the linker's
  // path; loading it first by full path (kept loaded) lets Dawn's lookup find it by soname
  // without LD_LIBRARY_PATH, which must be set before the process starts. process.dlopen
  // throws "did not self-register" (it is not a Node addon), but the library stays loaded.
  const systemVulkan = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1'].some(existsSync);
  if (!systemVulkan && existsSync(`${CHROMIUM_DIR}/libvulkan.so.1`)) {
    try {
      process.dlopen({ exports: {} } as NodeJS.Module, `${CHROMIUM_DIR}/libvulkan.so.1`, RTLD_NOW_GLOBAL_NODELETE);
    } catch {
      // expected: not a Node addon
    }
  }
  const { create, globals } = (await import('webgpu')) as unknown as { create(flags: string[]): GPU; globals: Record<string, unknown> };
  Object.assign(globalThis, globals);
  const g = globalThis as unknown as { navigator?: { gpu?: GPU } };
  g.navigator ??= {};
  const gpu = create([]);
  Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new Error(
      `WebGPU in Node found no adapter (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? 'unset'}; ` +
        `without a GPU this needs Debian's chromium package for SwiftShader, ${SWIFTSHADER_ICD})`,
    );
  }
  const info = adapter.info;
  const description = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter';
  return {
    adapter,
    description,
    software: /swiftshader/i.test(description) || Boolean((adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter),
  };
}
