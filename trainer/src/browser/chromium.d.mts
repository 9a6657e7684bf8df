/** Path of the Chromium binary (CHROME_PATH overrides /usr/bin/chromium). */
export declare const CHROMIUM_PATH: string;
/** Flags for headless Chromium on this platform (PLATFORM.md). */
export declare const CHROMIUM_ARGS: string[];
