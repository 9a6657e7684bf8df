export interface DemoModelEntry { id: string; url: string; style: string; architecture?: string; training?: string }
export declare function listDemoModels(): DemoModelEntry[];
export declare function startDemoServer(options?: { port?: number; watch?: boolean }): Promise<{ server: import('node:http').Server; url: string; close(): Promise<void> }>;
