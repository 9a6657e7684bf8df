/** Absolute path of the folder holding the default style's model.json (ends in a separator). */
export declare const DEFAULT_STYLE_DIR: string;
/** model.json and the shards it lists: what the package ships of the style (not its model card). */
export declare function defaultStyleFiles(): string[];
/** Copies the default style's files into `folder`, replacing what was there. */
export declare function copyDefaultStyle(folder: string): void;
