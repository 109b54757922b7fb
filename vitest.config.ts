import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every cloud SDK in the suite talks to a fake on 127.0.0.1; these make sure none of them
    // waits on an instance-metadata server when a test forgets to pass credentials.
    env: {
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      METADATA_SERVER_DETECTION: 'none',
      AZURE_IDENTITY_DISABLE_MULTITENANTAUTH: 'true',
    },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
