
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'romm-oidc' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'romm-oidc'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'romm-oidc' {
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds allowed for each network step (and for each wait on a log read from stdin)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours; auto: on a terminal, unless NO_COLOR is set or TERM is dumb')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check the settings, the provider and the running RomM, and say what to change')
            [CompletionResult]::new('wizard', 'wizard', [CompletionResultType]::ParameterValue, 'Set up RomM''s OIDC login step by step, checking each answer')
            [CompletionResult]::new('explain', 'explain', [CompletionResultType]::ParameterValue, 'Read RomM''s log and explain every OIDC login failure in it')
            [CompletionResult]::new('emit-env', 'emit-env', [CompletionResultType]::ParameterValue, 'Print the env block RomM needs (or merge it into an env file with --write)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'romm-oidc;doctor' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How the report is printed: text for the terminal, json (see --json), or markdown to paste into a RomM or Pocket ID support thread (versions, every finding with its fix, the variables RomM reads with every secret removed)')
            [CompletionResult]::new('--romm-log', '--romm-log', [CompletionResultType]::ParameterName, 'Also read RomM''s log from FILE (- for stdin) and report each OIDC failure in it (romm.log); see `romm-oidc explain`')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Read RomM''s variables from this env file (docker compose .env rules)')
            [CompletionResult]::new('--issuer', '--issuer', [CompletionResultType]::ParameterName, 'The provider''s issuer URL, e.g. Pocket ID''s APP_URL (OIDC_SERVER_APPLICATION_URL)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The client id registered at the provider (OIDC_CLIENT_ID)')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The client secret (OIDC_CLIENT_SECRET); prefer --client-secret-file, which stays out of shell history')
            [CompletionResult]::new('--client-secret-file', '--client-secret-file', [CompletionResultType]::ParameterName, 'Read the client secret from this file, or stdin for - (OIDC_CLIENT_SECRET); the line breaks that end the input are ignored, any other white space is part of the secret')
            [CompletionResult]::new('--redirect-uri', '--redirect-uri', [CompletionResultType]::ParameterName, 'The callback URL, <RomM URL>/api/oauth/openid (OIDC_REDIRECT_URI)')
            [CompletionResult]::new('--romm-url', '--romm-url', [CompletionResultType]::ParameterName, 'RomM''s public base URL, as users open it; gives the callback URL when --redirect-uri is absent')
            [CompletionResult]::new('--provider', '--provider', [CompletionResultType]::ParameterName, 'The provider label, whose icon RomM shows [default: pocket-id] (OIDC_PROVIDER)')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'PEM CA file that RomM gets as OIDC_TLS_CACERTFILE')
            [CompletionResult]::new('--metadata-url', '--metadata-url', [CompletionResultType]::ParameterName, 'Full discovery URL, used verbatim instead of the derived one (OIDC_SERVER_METADATA_URL)')
            [CompletionResult]::new('--username-attribute', '--username-attribute', [CompletionResultType]::ParameterName, 'ID-token claim used as the username of new accounts (OIDC_USERNAME_ATTRIBUTE)')
            [CompletionResult]::new('--claim-roles', '--claim-roles', [CompletionResultType]::ParameterName, 'Top-level ID-token claim that holds roles or groups (OIDC_CLAIM_ROLES)')
            [CompletionResult]::new('--role-admin', '--role-admin', [CompletionResultType]::ParameterName, 'The roles-claim value that grants Admin (OIDC_ROLE_ADMIN)')
            [CompletionResult]::new('--role-editor', '--role-editor', [CompletionResultType]::ParameterName, 'The roles-claim value that grants Editor/User access (OIDC_ROLE_EDITOR)')
            [CompletionResult]::new('--role-viewer', '--role-viewer', [CompletionResultType]::ParameterName, 'The roles-claim value that grants Viewer/User access; * for anyone with the claim (OIDC_ROLE_VIEWER)')
            [CompletionResult]::new('--pocket-id-api-key', '--pocket-id-api-key', [CompletionResultType]::ParameterName, 'A Pocket ID admin API key, to read the client and users instead of guessing (optional)')
            [CompletionResult]::new('--pocket-id-api-key-file', '--pocket-id-api-key-file', [CompletionResultType]::ParameterName, 'Read the Pocket ID admin API key from this file, or stdin for -')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address of the callback listener: 127.0.0.1:PORT, [::1]:PORT or localhost:PORT (which means 127.0.0.1) [default: first free of 127.0.0.1:8765-8769]')
            [CompletionResult]::new('--browser-command', '--browser-command', [CompletionResultType]::ParameterName, 'Command that opens the login URL (the URL is appended, or replaces %s); overrides $BROWSER')
            [CompletionResult]::new('--login-timeout', '--login-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for the login to come back (at most a week)')
            [CompletionResult]::new('--email', '--email', [CompletionResultType]::ParameterName, 'The RomM user''s email: checked against the token''s email, as RomM matches accounts')
            [CompletionResult]::new('--romm-username', '--romm-username', [CompletionResultType]::ParameterName, 'A RomM admin''s username: read RomM''s users with a token limited to the users.read scope, never writing; the password comes from --romm-password-file, ROMM_PASSWORD, or a hidden prompt on a terminal')
            [CompletionResult]::new('--romm-password-file', '--romm-password-file', [CompletionResultType]::ParameterName, 'Read the RomM password from this file (the line breaks that end it are ignored)')
            [CompletionResult]::new('--romm-token-file', '--romm-token-file', [CompletionResultType]::ParameterName, 'Read a RomM client API token (rmm_…, RomM 4.8+, made with only the users.read scope) from this file, instead of a username and password')
            [CompletionResult]::new('--container', '--container', [CompletionResultType]::ParameterName, 'Check from inside RomM''s container NAME too: its environment becomes the lowest settings source, and a probe piped to its python3 makes RomM''s own OIDC requests there (nothing is written into the container; the client secret never leaves it)')
            [CompletionResult]::new('--engine', '--engine', [CompletionResultType]::ParameterName, 'The engine that runs --container [default: the first on PATH of docker, podman, nerdctl]')
            [CompletionResult]::new('--exec', '--exec', [CompletionResultType]::ParameterName, 'Instead of --container: the command that runs a program in RomM''s container, given the program after it, e.g. ''kubectl exec -i -n media deploy/romm --'' (stdin must reach the program)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds allowed for each network step (and for each wait on a log read from stdin)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours; auto: on a terminal, unless NO_COLOR is set or TERM is dumb')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the report as JSON: {"schema": 1, "ok", "checks", "verdict"} (every field is in the README); the same as --format json')
            [CompletionResult]::new('--redact-hosts', '--redact-hosts', [CompletionResultType]::ParameterName, 'Replace every host name, public IP address and email address in the output (stdout and stderr) by a stable placeholder, e.g. id.example-1, user-1@example-1 (the rule is in the README)')
            [CompletionResult]::new('--demo', '--demo', [CompletionResultType]::ParameterName, 'Run against a built-in Pocket ID emulator and RomM double on loopback: a working setup, then a broken one')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'DANGER: do not verify TLS certificates (RomM always verifies; a pass then proves less)')
            [CompletionResult]::new('--login', '--login', [CompletionResultType]::ParameterName, 'Run a real authorization-code login through a loopback listener and judge the ID token as RomM will (the wizard runs it without asking)')
            [CompletionResult]::new('--no-browser', '--no-browser', [CompletionResultType]::ParameterName, 'Do not open a browser; only print the URL to open')
            [CompletionResult]::new('--pkce', '--pkce', [CompletionResultType]::ParameterName, 'Add PKCE (S256) to the login; RomM itself sends none')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'romm-oidc;wizard' {
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Read RomM''s variables from this env file (docker compose .env rules)')
            [CompletionResult]::new('--issuer', '--issuer', [CompletionResultType]::ParameterName, 'The provider''s issuer URL, e.g. Pocket ID''s APP_URL (OIDC_SERVER_APPLICATION_URL)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The client id registered at the provider (OIDC_CLIENT_ID)')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The client secret (OIDC_CLIENT_SECRET); prefer --client-secret-file, which stays out of shell history')
            [CompletionResult]::new('--client-secret-file', '--client-secret-file', [CompletionResultType]::ParameterName, 'Read the client secret from this file, or stdin for - (OIDC_CLIENT_SECRET); the line breaks that end the input are ignored, any other white space is part of the secret')
            [CompletionResult]::new('--redirect-uri', '--redirect-uri', [CompletionResultType]::ParameterName, 'The callback URL, <RomM URL>/api/oauth/openid (OIDC_REDIRECT_URI)')
            [CompletionResult]::new('--romm-url', '--romm-url', [CompletionResultType]::ParameterName, 'RomM''s public base URL, as users open it; gives the callback URL when --redirect-uri is absent')
            [CompletionResult]::new('--provider', '--provider', [CompletionResultType]::ParameterName, 'The provider label, whose icon RomM shows [default: pocket-id] (OIDC_PROVIDER)')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'PEM CA file that RomM gets as OIDC_TLS_CACERTFILE')
            [CompletionResult]::new('--metadata-url', '--metadata-url', [CompletionResultType]::ParameterName, 'Full discovery URL, used verbatim instead of the derived one (OIDC_SERVER_METADATA_URL)')
            [CompletionResult]::new('--username-attribute', '--username-attribute', [CompletionResultType]::ParameterName, 'ID-token claim used as the username of new accounts (OIDC_USERNAME_ATTRIBUTE)')
            [CompletionResult]::new('--claim-roles', '--claim-roles', [CompletionResultType]::ParameterName, 'Top-level ID-token claim that holds roles or groups (OIDC_CLAIM_ROLES)')
            [CompletionResult]::new('--role-admin', '--role-admin', [CompletionResultType]::ParameterName, 'The roles-claim value that grants Admin (OIDC_ROLE_ADMIN)')
            [CompletionResult]::new('--role-editor', '--role-editor', [CompletionResultType]::ParameterName, 'The roles-claim value that grants Editor/User access (OIDC_ROLE_EDITOR)')
            [CompletionResult]::new('--role-viewer', '--role-viewer', [CompletionResultType]::ParameterName, 'The roles-claim value that grants Viewer/User access; * for anyone with the claim (OIDC_ROLE_VIEWER)')
            [CompletionResult]::new('--pocket-id-api-key', '--pocket-id-api-key', [CompletionResultType]::ParameterName, 'A Pocket ID admin API key, to read the client and users instead of guessing (optional)')
            [CompletionResult]::new('--pocket-id-api-key-file', '--pocket-id-api-key-file', [CompletionResultType]::ParameterName, 'Read the Pocket ID admin API key from this file, or stdin for -')
            [CompletionResult]::new('--container', '--container', [CompletionResultType]::ParameterName, 'Check from inside RomM''s container NAME too: its environment becomes the lowest settings source, and a probe piped to its python3 makes RomM''s own OIDC requests there (nothing is written into the container; the client secret never leaves it)')
            [CompletionResult]::new('--engine', '--engine', [CompletionResultType]::ParameterName, 'The engine that runs --container [default: the first on PATH of docker, podman, nerdctl]')
            [CompletionResult]::new('--exec', '--exec', [CompletionResultType]::ParameterName, 'Instead of --container: the command that runs a program in RomM''s container, given the program after it, e.g. ''kubectl exec -i -n media deploy/romm --'' (stdin must reach the program)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--write', '--write', [CompletionResultType]::ParameterName, 'Merge into this env file instead of printing: OIDC lines replaced in place, others kept byte for byte')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address of the callback listener: 127.0.0.1:PORT, [::1]:PORT or localhost:PORT (which means 127.0.0.1) [default: first free of 127.0.0.1:8765-8769]')
            [CompletionResult]::new('--browser-command', '--browser-command', [CompletionResultType]::ParameterName, 'Command that opens the login URL (the URL is appended, or replaces %s); overrides $BROWSER')
            [CompletionResult]::new('--login-timeout', '--login-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for the login to come back (at most a week)')
            [CompletionResult]::new('--email', '--email', [CompletionResultType]::ParameterName, 'The RomM user''s email: checked against the token''s email, as RomM matches accounts')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds allowed for each network step (and for each wait on a log read from stdin)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours; auto: on a terminal, unless NO_COLOR is set or TERM is dumb')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Accept every default and ask nothing that a flag, the environment or --env-file answers')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Accept every default and ask nothing that a flag, the environment or --env-file answers')
            [CompletionResult]::new('--write-read-only', '--write-read-only', [CompletionResultType]::ParameterName, 'Let --write replace a read-only file (no owner write permission); the new file keeps that mode')
            [CompletionResult]::new('--login', '--login', [CompletionResultType]::ParameterName, 'Run a real authorization-code login through a loopback listener and judge the ID token as RomM will (the wizard runs it without asking)')
            [CompletionResult]::new('--no-browser', '--no-browser', [CompletionResultType]::ParameterName, 'Do not open a browser; only print the URL to open')
            [CompletionResult]::new('--pkce', '--pkce', [CompletionResultType]::ParameterName, 'Add PKCE (S256) to the login; RomM itself sends none')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'romm-oidc;explain' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How the findings are printed: text, json (see --json), or markdown to paste into a support thread')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds allowed for each network step (and for each wait on a log read from stdin)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours; auto: on a terminal, unless NO_COLOR is set or TERM is dumb')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the findings as JSON: the doctor''s report without its verdict; the same as --format json')
            [CompletionResult]::new('--redact-hosts', '--redact-hosts', [CompletionResultType]::ParameterName, 'Replace every host name, public IP address and email address in the output by a stable placeholder, as `doctor --redact-hosts` does')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'romm-oidc;emit-env' {
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Read RomM''s variables from this env file (docker compose .env rules)')
            [CompletionResult]::new('--issuer', '--issuer', [CompletionResultType]::ParameterName, 'The provider''s issuer URL, e.g. Pocket ID''s APP_URL (OIDC_SERVER_APPLICATION_URL)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The client id registered at the provider (OIDC_CLIENT_ID)')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The client secret (OIDC_CLIENT_SECRET); prefer --client-secret-file, which stays out of shell history')
            [CompletionResult]::new('--client-secret-file', '--client-secret-file', [CompletionResultType]::ParameterName, 'Read the client secret from this file, or stdin for - (OIDC_CLIENT_SECRET); the line breaks that end the input are ignored, any other white space is part of the secret')
            [CompletionResult]::new('--redirect-uri', '--redirect-uri', [CompletionResultType]::ParameterName, 'The callback URL, <RomM URL>/api/oauth/openid (OIDC_REDIRECT_URI)')
            [CompletionResult]::new('--romm-url', '--romm-url', [CompletionResultType]::ParameterName, 'RomM''s public base URL, as users open it; gives the callback URL when --redirect-uri is absent')
            [CompletionResult]::new('--provider', '--provider', [CompletionResultType]::ParameterName, 'The provider label, whose icon RomM shows [default: pocket-id] (OIDC_PROVIDER)')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'PEM CA file that RomM gets as OIDC_TLS_CACERTFILE')
            [CompletionResult]::new('--metadata-url', '--metadata-url', [CompletionResultType]::ParameterName, 'Full discovery URL, used verbatim instead of the derived one (OIDC_SERVER_METADATA_URL)')
            [CompletionResult]::new('--username-attribute', '--username-attribute', [CompletionResultType]::ParameterName, 'ID-token claim used as the username of new accounts (OIDC_USERNAME_ATTRIBUTE)')
            [CompletionResult]::new('--claim-roles', '--claim-roles', [CompletionResultType]::ParameterName, 'Top-level ID-token claim that holds roles or groups (OIDC_CLAIM_ROLES)')
            [CompletionResult]::new('--role-admin', '--role-admin', [CompletionResultType]::ParameterName, 'The roles-claim value that grants Admin (OIDC_ROLE_ADMIN)')
            [CompletionResult]::new('--role-editor', '--role-editor', [CompletionResultType]::ParameterName, 'The roles-claim value that grants Editor/User access (OIDC_ROLE_EDITOR)')
            [CompletionResult]::new('--role-viewer', '--role-viewer', [CompletionResultType]::ParameterName, 'The roles-claim value that grants Viewer/User access; * for anyone with the claim (OIDC_ROLE_VIEWER)')
            [CompletionResult]::new('--pocket-id-api-key', '--pocket-id-api-key', [CompletionResultType]::ParameterName, 'A Pocket ID admin API key, to read the client and users instead of guessing (optional)')
            [CompletionResult]::new('--pocket-id-api-key-file', '--pocket-id-api-key-file', [CompletionResultType]::ParameterName, 'Read the Pocket ID admin API key from this file, or stdin for -')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--write', '--write', [CompletionResultType]::ParameterName, 'Merge into this env file instead of printing: OIDC lines replaced in place, others kept byte for byte')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds allowed for each network step (and for each wait on a log read from stdin)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours; auto: on a terminal, unless NO_COLOR is set or TERM is dumb')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Print the block even when a check fails')
            [CompletionResult]::new('--write-read-only', '--write-read-only', [CompletionResultType]::ParameterName, 'Let --write replace a read-only file (no owner write permission); the new file keeps that mode')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'romm-oidc;help' {
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check the settings, the provider and the running RomM, and say what to change')
            [CompletionResult]::new('wizard', 'wizard', [CompletionResultType]::ParameterValue, 'Set up RomM''s OIDC login step by step, checking each answer')
            [CompletionResult]::new('explain', 'explain', [CompletionResultType]::ParameterValue, 'Read RomM''s log and explain every OIDC login failure in it')
            [CompletionResult]::new('emit-env', 'emit-env', [CompletionResultType]::ParameterValue, 'Print the env block RomM needs (or merge it into an env file with --write)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'romm-oidc;help;doctor' {
            break
        }
        'romm-oidc;help;wizard' {
            break
        }
        'romm-oidc;help;explain' {
            break
        }
        'romm-oidc;help;emit-env' {
            break
        }
        'romm-oidc;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
