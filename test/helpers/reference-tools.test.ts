import assert from "node:assert/strict";
import { test } from "node:test";
import { missingPython } from "./python.js";
import { missingReference, missingSharedFile, referencesRequired } from "./reference-tools.js";

const REQUIRED = { MADKIT_REQUIRE_REFERENCES: "1" };

test("a missing reference is a skip reason naming the tool and its Debian package, or a failure under MADKIT_REQUIRE_REFERENCES=1", () => {
  for (const env of [{}, { MADKIT_REQUIRE_REFERENCES: "" }, { MADKIT_REQUIRE_REFERENCES: "0" }, { CI: "true" }]) {
    assert.equal(missingReference("Chromium (/usr/bin/chromium)", "chromium", env), "Chromium (/usr/bin/chromium) not found (Debian package: chromium)");
  }
  assert.throws(() => missingReference("Chromium (/usr/bin/chromium)", "chromium", REQUIRED), {
    message: "MADKIT_REQUIRE_REFERENCES=1 and Chromium (/usr/bin/chromium) not found (Debian package: chromium)",
  });
  assert.equal(missingSharedFile("/x/stories260K.bin", {}), "/x/stories260K.bin not found (the shared models folder; point MADKIT_SHARED at it)");
  assert.throws(() => missingSharedFile("/x/stories260K.bin", REQUIRED), /^Error: MADKIT_REQUIRE_REFERENCES=1 and \/x\/stories260K.bin not found \(the shared models folder/);
});

test("a python reason names the modules and one Debian package per module", () => {
  assert.equal(missingPython(["numpy"], {}), "python3 with numpy not found (Debian package: python3-numpy)");
  assert.equal(missingPython(["numpy", "sklearn"], {}), "python3 with numpy and scikit-learn not found (Debian packages: python3-numpy python3-sklearn)");
  assert.throws(() => missingPython(["numpy", "sklearn"], REQUIRED), /MADKIT_REQUIRE_REFERENCES=1 and python3 with numpy and scikit-learn not found \(Debian packages: python3-numpy python3-sklearn\)/);
});

test("MADKIT_REQUIRE_REFERENCES other than 1, 0 or empty is an error rather than a guess", () => {
  assert.equal(referencesRequired({}), false);
  assert.equal(referencesRequired(REQUIRED), true);
  for (const v of ["true", "yes", "2"]) assert.throws(() => referencesRequired({ MADKIT_REQUIRE_REFERENCES: v }), new RegExp(`must be 1 .* not '${v}'`));
});
