/** Pulumi.yaml and the README config reference are generated from the schema and in sync. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { configKeyInfo } from "../../lib/posture/configKeys";
import { pulumiYamlText, readmeWithReference } from "../../lib/posture/configDocs";
import { ROOT } from "../helpers/program";

describe("config documentation", () => {
  it("Pulumi.yaml is what `npm run gen:config` produces", () => {
    expect(readFileSync(`${ROOT}/Pulumi.yaml`, "utf8")).toBe(pulumiYamlText());
  });

  it("every key in Pulumi.yaml has a Pulumi type and a description", () => {
    const project = YAML.parse(readFileSync(`${ROOT}/Pulumi.yaml`, "utf8"));
    expect(project.name).toBe("drposture");
    expect(project.runtime.name).toBe("nodejs");
    const keys = Object.keys(project.config);
    expect(keys).toEqual(configKeyInfo().map((i) => i.key));
    for (const decl of Object.values(project.config) as Array<{ type: string; description: string }>) {
      expect(["string", "integer", "boolean", "array", "object"]).toContain(decl.type);
      expect(decl.description.length).toBeGreaterThan(10);
    }
    expect(project.config.alertWebhookUrl.secret).toBe(true);
    expect(project.config.neonApiKey.secret).toBe(true);
  });

  it("the README config reference is up to date", () => {
    const readme = readFileSync(`${ROOT}/README.md`, "utf8");
    expect(readme).toBe(readmeWithReference(readme));
    expect(readme).toContain("`drposture:retention.daily`");
  });

  it("the stack files use only declared keys", () => {
    const declared = new Set(configKeyInfo().map((i) => `drposture:${i.key}`));
    for (const stack of ["prod", "staging"]) {
      const cfg = YAML.parse(readFileSync(`${ROOT}/Pulumi.${stack}.yaml`, "utf8")).config as Record<string, unknown>;
      for (const key of Object.keys(cfg).filter((k) => k.startsWith("drposture:"))) expect(declared, `${stack}: ${key}`).toContain(key);
    }
  });
});
