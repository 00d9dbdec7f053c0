/** Types of lazySdk.cjs (plain CommonJS so that the pack process can `--require` it). */
/** Defers the unused SDK parts for code that resolves @pulumi/pulumi from `from`; returns the deferred files. */
export declare function deferUnusedSdkParts(from: readonly string[]): string[];
/** False when DRPOSTURE_CHECK_LAZY_SDK=0. */
export declare function lazySdk(): boolean;
/** [package, path inside it, stand-in kind] of each deferred module. */
export declare const DEFERRED: ReadonlyArray<readonly [string, string, "namespace" | "functions"]>;
