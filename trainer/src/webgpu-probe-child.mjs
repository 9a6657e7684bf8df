// Run by node-backend.ts as a child process: creates dawn.node, asks it for a WebGPU adapter and
// prints one line of JSON, {description, fallbackAdapter, driverFiles} or {error}. In a child
// because Dawn and the Vulkan loader write their probing ("vkCreateInstance: Found no drivers!")
// straight to the native stderr, which Node cannot redirect inside its own process; the parent
// captures it here and shows it only when WebGPU was asked for and is not there.
// Plain JavaScript so that it starts without tsx.
//
// argv[2], when given: a Vulkan driver manifest to try when no installed driver gives an adapter
// (the project's lavapipe). driverFiles in the answer says it was needed.
const fallbackDriverFiles = process.argv[2];

let dawn;
try {
  dawn = await import('webgpu');
} catch (error) {
  answer({ error: `dawn.node did not load (${error.message})` });
}
if (dawn) {
  let adapter = await requestAdapter();
  let driverFiles;
  if (!adapter && fallbackDriverFiles && !process.env.VK_DRIVER_FILES) {
    // The Vulkan loader reads this when the next instance is created.
    process.env.VK_DRIVER_FILES = fallbackDriverFiles;
    adapter = await requestAdapter();
    if (adapter) driverFiles = fallbackDriverFiles;
  }
  if (adapter) {
    const info = adapter.info;
    const description = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
    answer({ description, fallbackAdapter: Boolean(info.isFallbackAdapter), driverFiles });
  } else {
    answer({ error: 'no WebGPU adapter (no usable Vulkan driver)' });
  }
}

function requestAdapter() {
  return dawn.create([]).requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
}

/** Prints the answer and ends the process: a live Dawn instance would otherwise keep it running. */
function answer(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}
