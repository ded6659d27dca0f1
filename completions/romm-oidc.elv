
use builtin;
use str;

set edit:completion:arg-completer[romm-oidc] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'romm-oidc'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'romm-oidc'= {
            cand --timeout 'Seconds allowed for each network step (and for each wait on a log read from stdin)'
            cand --color 'When to use colours; auto: on a terminal, unless NO_COLOR is set or TERM is dumb'
            cand -v 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)'
            cand --verbose 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand doctor 'Check the settings, the provider and the running RomM, and say what to change'
            cand wizard 'Set up RomM''s OIDC login step by step, checking each answer'
            cand explain 'Read RomM''s log and explain every OIDC login failure in it'
            cand emit-env 'Print the env block RomM needs (or merge it into an env file with --write)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'romm-oidc;doctor'= {
            cand --format 'How the report is printed: text for the terminal, json (see --json), or markdown to paste into a RomM or Pocket ID support thread (versions, every finding with its fix, the variables RomM reads with every secret removed)'
            cand --romm-log 'Also read RomM''s log from FILE (- for stdin) and report each OIDC failure in it (romm.log); see `romm-oidc explain`'
            cand --env-file 'Read RomM''s variables from this env file (docker compose .env rules)'
            cand --issuer 'The provider''s issuer URL, e.g. Pocket ID''s APP_URL (OIDC_SERVER_APPLICATION_URL)'
            cand --client-id 'The client id registered at the provider (OIDC_CLIENT_ID)'
            cand --client-secret 'The client secret (OIDC_CLIENT_SECRET); prefer --client-secret-file, which stays out of shell history'
            cand --client-secret-file 'Read the client secret from this file, or stdin for - (OIDC_CLIENT_SECRET); the line breaks that end the input are ignored, any other white space is part of the secret'
            cand --redirect-uri 'The callback URL, <RomM URL>/api/oauth/openid (OIDC_REDIRECT_URI)'
            cand --romm-url 'RomM''s public base URL, as users open it; gives the callback URL when --redirect-uri is absent'
            cand --provider 'The provider label, whose icon RomM shows [default: pocket-id] (OIDC_PROVIDER)'
            cand --ca-file 'PEM CA file that RomM gets as OIDC_TLS_CACERTFILE'
            cand --metadata-url 'Full discovery URL, used verbatim instead of the derived one (OIDC_SERVER_METADATA_URL)'
            cand --username-attribute 'ID-token claim used as the username of new accounts (OIDC_USERNAME_ATTRIBUTE)'
            cand --claim-roles 'Top-level ID-token claim that holds roles or groups (OIDC_CLAIM_ROLES)'
            cand --role-admin 'The roles-claim value that grants Admin (OIDC_ROLE_ADMIN)'
            cand --role-editor 'The roles-claim value that grants Editor/User access (OIDC_ROLE_EDITOR)'
            cand --role-viewer 'The roles-claim value that grants Viewer/User access; * for anyone with the claim (OIDC_ROLE_VIEWER)'
            cand --pocket-id-api-key 'A Pocket ID admin API key, to read the client and users instead of guessing (optional)'
            cand --pocket-id-api-key-file 'Read the Pocket ID admin API key from this file, or stdin for -'
            cand --listen 'Address of the callback listener: 127.0.0.1:PORT, [::1]:PORT or localhost:PORT (which means 127.0.0.1) [default: first free of 127.0.0.1:8765-8769]'
            cand --browser-command 'Command that opens the login URL (the URL is appended, or replaces %s); overrides $BROWSER'
            cand --login-timeout 'Seconds to wait for the login to come back (at most a week)'
            cand --email 'The RomM user''s email: checked against the token''s email, as RomM matches accounts'
            cand --romm-username 'A RomM admin''s username: read RomM''s users with a token limited to the users.read scope, never writing; the password comes from --romm-password-file, ROMM_PASSWORD, or a hidden prompt on a terminal'
            cand --romm-password-file 'Read the RomM password from this file (the line breaks that end it are ignored)'
            cand --romm-token-file 'Read a RomM client API token (rmm_…, RomM 4.8+, made with only the users.read scope) from this file, instead of a username and password'
            cand --container 'Check from inside RomM''s container NAME too: its environment becomes the lowest settings source, and a probe piped to its python3 makes RomM''s own OIDC requests there (nothing is written into the container; the client secret never leaves it)'
            cand --engine 'The engine that runs --container [default: the first on PATH of docker, podman, nerdctl]'
            cand --exec 'Instead of --container: the command that runs a program in RomM''s container, given the program after it, e.g. ''kubectl exec -i -n media deploy/romm --'' (stdin must reach the program)'
            cand --timeout 'Seconds allowed for each network step (and for each wait on a log read from stdin)'
            cand --color 'When to use colours; auto: on a terminal, unless NO_COLOR is set or TERM is dumb'
            cand --json 'Print the report as JSON: {"schema": 1, "ok", "checks", "verdict"} (every field is in the README); the same as --format json'
            cand --redact-hosts 'Replace every host name, public IP address and email address in the output (stdout and stderr) by a stable placeholder, e.g. id.example-1, user-1@example-1 (the rule is in the README)'
            cand --demo 'Run against a built-in Pocket ID emulator and RomM double on loopback: a working setup, then a broken one'
            cand --insecure 'DANGER: do not verify TLS certificates (RomM always verifies; a pass then proves less)'
            cand --login 'Run a real authorization-code login through a loopback listener and judge the ID token as RomM will (the wizard runs it without asking)'
            cand --no-browser 'Do not open a browser; only print the URL to open'
            cand --pkce 'Add PKCE (S256) to the login; RomM itself sends none'
            cand -v 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)'
            cand --verbose 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'romm-oidc;wizard'= {
            cand --env-file 'Read RomM''s variables from this env file (docker compose .env rules)'
            cand --issuer 'The provider''s issuer URL, e.g. Pocket ID''s APP_URL (OIDC_SERVER_APPLICATION_URL)'
            cand --client-id 'The client id registered at the provider (OIDC_CLIENT_ID)'
            cand --client-secret 'The client secret (OIDC_CLIENT_SECRET); prefer --client-secret-file, which stays out of shell history'
            cand --client-secret-file 'Read the client secret from this file, or stdin for - (OIDC_CLIENT_SECRET); the line breaks that end the input are ignored, any other white space is part of the secret'
            cand --redirect-uri 'The callback URL, <RomM URL>/api/oauth/openid (OIDC_REDIRECT_URI)'
            cand --romm-url 'RomM''s public base URL, as users open it; gives the callback URL when --redirect-uri is absent'
            cand --provider 'The provider label, whose icon RomM shows [default: pocket-id] (OIDC_PROVIDER)'
            cand --ca-file 'PEM CA file that RomM gets as OIDC_TLS_CACERTFILE'
            cand --metadata-url 'Full discovery URL, used verbatim instead of the derived one (OIDC_SERVER_METADATA_URL)'
            cand --username-attribute 'ID-token claim used as the username of new accounts (OIDC_USERNAME_ATTRIBUTE)'
            cand --claim-roles 'Top-level ID-token claim that holds roles or groups (OIDC_CLAIM_ROLES)'
            cand --role-admin 'The roles-claim value that grants Admin (OIDC_ROLE_ADMIN)'
            cand --role-editor 'The roles-claim value that grants Editor/User access (OIDC_ROLE_EDITOR)'
            cand --role-viewer 'The roles-claim value that grants Viewer/User access; * for anyone with the claim (OIDC_ROLE_VIEWER)'
            cand --pocket-id-api-key 'A Pocket ID admin API key, to read the client and users instead of guessing (optional)'
            cand --pocket-id-api-key-file 'Read the Pocket ID admin API key from this file, or stdin for -'
            cand --container 'Check from inside RomM''s container NAME too: its environment becomes the lowest settings source, and a probe piped to its python3 makes RomM''s own OIDC requests there (nothing is written into the container; the client secret never leaves it)'
            cand --engine 'The engine that runs --container [default: the first on PATH of docker, podman, nerdctl]'
            cand --exec 'Instead of --container: the command that runs a program in RomM''s container, given the program after it, e.g. ''kubectl exec -i -n media deploy/romm --'' (stdin must reach the program)'
            cand --format 'Output format'
            cand --write 'Merge into this env file instead of printing: OIDC lines replaced in place, others kept byte for byte'
            cand --listen 'Address of the callback listener: 127.0.0.1:PORT, [::1]:PORT or localhost:PORT (which means 127.0.0.1) [default: first free of 127.0.0.1:8765-8769]'
            cand --browser-command 'Command that opens the login URL (the URL is appended, or replaces %s); overrides $BROWSER'
            cand --login-timeout 'Seconds to wait for the login to come back (at most a week)'
            cand --email 'The RomM user''s email: checked against the token''s email, as RomM matches accounts'
            cand --timeout 'Seconds allowed for each network step (and for each wait on a log read from stdin)'
            cand --color 'When to use colours; auto: on a terminal, unless NO_COLOR is set or TERM is dumb'
            cand -y 'Accept every default and ask nothing that a flag, the environment or --env-file answers'
            cand --yes 'Accept every default and ask nothing that a flag, the environment or --env-file answers'
            cand --write-read-only 'Let --write replace a read-only file (no owner write permission); the new file keeps that mode'
            cand --login 'Run a real authorization-code login through a loopback listener and judge the ID token as RomM will (the wizard runs it without asking)'
            cand --no-browser 'Do not open a browser; only print the URL to open'
            cand --pkce 'Add PKCE (S256) to the login; RomM itself sends none'
            cand -v 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)'
            cand --verbose 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'romm-oidc;explain'= {
            cand --format 'How the findings are printed: text, json (see --json), or markdown to paste into a support thread'
            cand --timeout 'Seconds allowed for each network step (and for each wait on a log read from stdin)'
            cand --color 'When to use colours; auto: on a terminal, unless NO_COLOR is set or TERM is dumb'
            cand --json 'Print the findings as JSON: the doctor''s report without its verdict; the same as --format json'
            cand --redact-hosts 'Replace every host name, public IP address and email address in the output by a stable placeholder, as `doctor --redact-hosts` does'
            cand -v 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)'
            cand --verbose 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'romm-oidc;emit-env'= {
            cand --env-file 'Read RomM''s variables from this env file (docker compose .env rules)'
            cand --issuer 'The provider''s issuer URL, e.g. Pocket ID''s APP_URL (OIDC_SERVER_APPLICATION_URL)'
            cand --client-id 'The client id registered at the provider (OIDC_CLIENT_ID)'
            cand --client-secret 'The client secret (OIDC_CLIENT_SECRET); prefer --client-secret-file, which stays out of shell history'
            cand --client-secret-file 'Read the client secret from this file, or stdin for - (OIDC_CLIENT_SECRET); the line breaks that end the input are ignored, any other white space is part of the secret'
            cand --redirect-uri 'The callback URL, <RomM URL>/api/oauth/openid (OIDC_REDIRECT_URI)'
            cand --romm-url 'RomM''s public base URL, as users open it; gives the callback URL when --redirect-uri is absent'
            cand --provider 'The provider label, whose icon RomM shows [default: pocket-id] (OIDC_PROVIDER)'
            cand --ca-file 'PEM CA file that RomM gets as OIDC_TLS_CACERTFILE'
            cand --metadata-url 'Full discovery URL, used verbatim instead of the derived one (OIDC_SERVER_METADATA_URL)'
            cand --username-attribute 'ID-token claim used as the username of new accounts (OIDC_USERNAME_ATTRIBUTE)'
            cand --claim-roles 'Top-level ID-token claim that holds roles or groups (OIDC_CLAIM_ROLES)'
            cand --role-admin 'The roles-claim value that grants Admin (OIDC_ROLE_ADMIN)'
            cand --role-editor 'The roles-claim value that grants Editor/User access (OIDC_ROLE_EDITOR)'
            cand --role-viewer 'The roles-claim value that grants Viewer/User access; * for anyone with the claim (OIDC_ROLE_VIEWER)'
            cand --pocket-id-api-key 'A Pocket ID admin API key, to read the client and users instead of guessing (optional)'
            cand --pocket-id-api-key-file 'Read the Pocket ID admin API key from this file, or stdin for -'
            cand --format 'Output format'
            cand --write 'Merge into this env file instead of printing: OIDC lines replaced in place, others kept byte for byte'
            cand --timeout 'Seconds allowed for each network step (and for each wait on a log read from stdin)'
            cand --color 'When to use colours; auto: on a terminal, unless NO_COLOR is set or TERM is dumb'
            cand --force 'Print the block even when a check fails'
            cand --write-read-only 'Let --write replace a read-only file (no owner write permission); the new file keeps that mode'
            cand -v 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)'
            cand --verbose 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'romm-oidc;help'= {
            cand doctor 'Check the settings, the provider and the running RomM, and say what to change'
            cand wizard 'Set up RomM''s OIDC login step by step, checking each answer'
            cand explain 'Read RomM''s log and explain every OIDC login failure in it'
            cand emit-env 'Print the env block RomM needs (or merge it into an env file with --write)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'romm-oidc;help;doctor'= {
        }
        &'romm-oidc;help;wizard'= {
        }
        &'romm-oidc;help;explain'= {
        }
        &'romm-oidc;help;emit-env'= {
        }
        &'romm-oidc;help;help'= {
        }
    ]
    $completions[$command]
}
