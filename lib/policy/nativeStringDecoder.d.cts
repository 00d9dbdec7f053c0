/** Types of nativeStringDecoder.cjs (plain CommonJS so that the pack process can `--require` it). */
/** Strings of at least this many bytes are decoded natively. */
export declare const NATIVE_FROM: number;
/** Installs the native decoding on a google-protobuf module's BinaryDecoder; false if its shape is not the one expected. */
export declare function install(googleProtobuf: unknown): boolean;
/** A readString for BinaryDecoder.prototype that falls back to `original`. */
export declare function nativeReadString(original: (length: number) => string): (length: number) => string;
/** The google-protobuf module the pack's Analyzer service decodes with. */
export declare function packGoogleProtobuf(packDir: string): unknown;
