# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_romm_oidc_global_optspecs
    string join \n timeout= color= v/verbose h/help V/version
end

function __fish_romm_oidc_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_romm_oidc_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_romm_oidc_using_subcommand
    set -l cmd (__fish_romm_oidc_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c romm-oidc -n "__fish_romm_oidc_needs_command" -l timeout -d 'Seconds allowed for each network step (and for each wait on a log read from stdin)' -r
complete -c romm-oidc -n "__fish_romm_oidc_needs_command" -l color -d 'When to use colours; auto: on a terminal, unless NO_COLOR is set or TERM is dumb' -r -f -a "auto\t''
always\t''
never\t''"
complete -c romm-oidc -n "__fish_romm_oidc_needs_command" -s v -l verbose -d 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)'
complete -c romm-oidc -n "__fish_romm_oidc_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c romm-oidc -n "__fish_romm_oidc_needs_command" -s V -l version -d 'Print version'
complete -c romm-oidc -n "__fish_romm_oidc_needs_command" -f -a "doctor" -d 'Check the settings, the provider and the running RomM, and say what to change'
complete -c romm-oidc -n "__fish_romm_oidc_needs_command" -f -a "wizard" -d 'Set up RomM\'s OIDC login step by step, checking each answer'
complete -c romm-oidc -n "__fish_romm_oidc_needs_command" -f -a "explain" -d 'Read RomM\'s log and explain every OIDC login failure in it'
complete -c romm-oidc -n "__fish_romm_oidc_needs_command" -f -a "emit-env" -d 'Print the env block RomM needs (or merge it into an env file with --write)'
complete -c romm-oidc -n "__fish_romm_oidc_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l format -d 'How the report is printed: text for the terminal, json (see --json), or markdown to paste into a RomM or Pocket ID support thread (versions, every finding with its fix, the variables RomM reads with every secret removed)' -r -f -a "text\t'A line per check, and what to do about each one not passing'
json\t'The report as one JSON object (README "The JSON report")'
markdown\t'Markdown to paste into a support thread, with versions and the env RomM reads, secrets removed'"
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l romm-log -d 'Also read RomM\'s log from FILE (- for stdin) and report each OIDC failure in it (romm.log); see `romm-oidc explain`' -r -F
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l env-file -d 'Read RomM\'s variables from this env file (docker compose .env rules)' -r -F
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l issuer -d 'The provider\'s issuer URL, e.g. Pocket ID\'s APP_URL (OIDC_SERVER_APPLICATION_URL)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l client-id -d 'The client id registered at the provider (OIDC_CLIENT_ID)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l client-secret -d 'The client secret (OIDC_CLIENT_SECRET); prefer --client-secret-file, which stays out of shell history' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l client-secret-file -d 'Read the client secret from this file, or stdin for - (OIDC_CLIENT_SECRET); the line breaks that end the input are ignored, any other white space is part of the secret' -r -F
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l redirect-uri -d 'The callback URL, <RomM URL>/api/oauth/openid (OIDC_REDIRECT_URI)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l romm-url -d 'RomM\'s public base URL, as users open it; gives the callback URL when --redirect-uri is absent' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l provider -d 'The provider label, whose icon RomM shows [default: pocket-id] (OIDC_PROVIDER)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l ca-file -d 'PEM CA file that RomM gets as OIDC_TLS_CACERTFILE' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l metadata-url -d 'Full discovery URL, used verbatim instead of the derived one (OIDC_SERVER_METADATA_URL)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l username-attribute -d 'ID-token claim used as the username of new accounts (OIDC_USERNAME_ATTRIBUTE)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l claim-roles -d 'Top-level ID-token claim that holds roles or groups (OIDC_CLAIM_ROLES)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l role-admin -d 'The roles-claim value that grants Admin (OIDC_ROLE_ADMIN)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l role-editor -d 'The roles-claim value that grants Editor/User access (OIDC_ROLE_EDITOR)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l role-viewer -d 'The roles-claim value that grants Viewer/User access; * for anyone with the claim (OIDC_ROLE_VIEWER)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l pocket-id-api-key -d 'A Pocket ID admin API key, to read the client and users instead of guessing (optional)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l pocket-id-api-key-file -d 'Read the Pocket ID admin API key from this file, or stdin for -' -r -F
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l listen -d 'Address of the callback listener: 127.0.0.1:PORT, [::1]:PORT or localhost:PORT (which means 127.0.0.1) [default: first free of 127.0.0.1:8765-8769]' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l browser-command -d 'Command that opens the login URL (the URL is appended, or replaces %s); overrides $BROWSER' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l login-timeout -d 'Seconds to wait for the login to come back (at most a week)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l email -d 'The RomM user\'s email: checked against the token\'s email, as RomM matches accounts' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l romm-username -d 'A RomM admin\'s username: read RomM\'s users with a token limited to the users.read scope, never writing; the password comes from --romm-password-file, ROMM_PASSWORD, or a hidden prompt on a terminal' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l romm-password-file -d 'Read the RomM password from this file (the line breaks that end it are ignored)' -r -F
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l romm-token-file -d 'Read a RomM client API token (rmm_…, RomM 4.8+, made with only the users.read scope) from this file, instead of a username and password' -r -F
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l container -d 'Check from inside RomM\'s container NAME too: its environment becomes the lowest settings source, and a probe piped to its python3 makes RomM\'s own OIDC requests there (nothing is written into the container; the client secret never leaves it)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l engine -d 'The engine that runs --container [default: the first on PATH of docker, podman, nerdctl]' -r -f -a "docker\t''
podman\t''
nerdctl\t''"
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l exec -d 'Instead of --container: the command that runs a program in RomM\'s container, given the program after it, e.g. \'kubectl exec -i -n media deploy/romm --\' (stdin must reach the program)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l timeout -d 'Seconds allowed for each network step (and for each wait on a log read from stdin)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l color -d 'When to use colours; auto: on a terminal, unless NO_COLOR is set or TERM is dumb' -r -f -a "auto\t''
always\t''
never\t''"
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l json -d 'Print the report as JSON: {"schema": 1, "ok", "checks", "verdict"} (every field is in the README); the same as --format json'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l redact-hosts -d 'Replace every host name, public IP address and email address in the output (stdout and stderr) by a stable placeholder, e.g. id.example-1, user-1@example-1 (the rule is in the README)'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l demo -d 'Run against a built-in Pocket ID emulator and RomM double on loopback: a working setup, then a broken one'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l insecure -d 'DANGER: do not verify TLS certificates (RomM always verifies; a pass then proves less)'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l login -d 'Run a real authorization-code login through a loopback listener and judge the ID token as RomM will (the wizard runs it without asking)'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l no-browser -d 'Do not open a browser; only print the URL to open'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -l pkce -d 'Add PKCE (S256) to the login; RomM itself sends none'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -s v -l verbose -d 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l env-file -d 'Read RomM\'s variables from this env file (docker compose .env rules)' -r -F
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l issuer -d 'The provider\'s issuer URL, e.g. Pocket ID\'s APP_URL (OIDC_SERVER_APPLICATION_URL)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l client-id -d 'The client id registered at the provider (OIDC_CLIENT_ID)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l client-secret -d 'The client secret (OIDC_CLIENT_SECRET); prefer --client-secret-file, which stays out of shell history' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l client-secret-file -d 'Read the client secret from this file, or stdin for - (OIDC_CLIENT_SECRET); the line breaks that end the input are ignored, any other white space is part of the secret' -r -F
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l redirect-uri -d 'The callback URL, <RomM URL>/api/oauth/openid (OIDC_REDIRECT_URI)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l romm-url -d 'RomM\'s public base URL, as users open it; gives the callback URL when --redirect-uri is absent' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l provider -d 'The provider label, whose icon RomM shows [default: pocket-id] (OIDC_PROVIDER)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l ca-file -d 'PEM CA file that RomM gets as OIDC_TLS_CACERTFILE' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l metadata-url -d 'Full discovery URL, used verbatim instead of the derived one (OIDC_SERVER_METADATA_URL)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l username-attribute -d 'ID-token claim used as the username of new accounts (OIDC_USERNAME_ATTRIBUTE)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l claim-roles -d 'Top-level ID-token claim that holds roles or groups (OIDC_CLAIM_ROLES)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l role-admin -d 'The roles-claim value that grants Admin (OIDC_ROLE_ADMIN)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l role-editor -d 'The roles-claim value that grants Editor/User access (OIDC_ROLE_EDITOR)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l role-viewer -d 'The roles-claim value that grants Viewer/User access; * for anyone with the claim (OIDC_ROLE_VIEWER)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l pocket-id-api-key -d 'A Pocket ID admin API key, to read the client and users instead of guessing (optional)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l pocket-id-api-key-file -d 'Read the Pocket ID admin API key from this file, or stdin for -' -r -F
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l container -d 'Check from inside RomM\'s container NAME too: its environment becomes the lowest settings source, and a probe piped to its python3 makes RomM\'s own OIDC requests there (nothing is written into the container; the client secret never leaves it)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l engine -d 'The engine that runs --container [default: the first on PATH of docker, podman, nerdctl]' -r -f -a "docker\t''
podman\t''
nerdctl\t''"
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l exec -d 'Instead of --container: the command that runs a program in RomM\'s container, given the program after it, e.g. \'kubectl exec -i -n media deploy/romm --\' (stdin must reach the program)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l format -d 'Output format' -r -f -a "dotenv\t'KEY=\'value\' lines for a .env file (docker compose and POSIX sh read them alike)'
compose\t'An `environment:` mapping to paste under the RomM service in compose.yaml'
shell\t'`export KEY=\'value\'` lines for a POSIX shell'
json\t'A JSON object'"
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l write -d 'Merge into this env file instead of printing: OIDC lines replaced in place, others kept byte for byte' -r -F
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l listen -d 'Address of the callback listener: 127.0.0.1:PORT, [::1]:PORT or localhost:PORT (which means 127.0.0.1) [default: first free of 127.0.0.1:8765-8769]' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l browser-command -d 'Command that opens the login URL (the URL is appended, or replaces %s); overrides $BROWSER' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l login-timeout -d 'Seconds to wait for the login to come back (at most a week)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l email -d 'The RomM user\'s email: checked against the token\'s email, as RomM matches accounts' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l timeout -d 'Seconds allowed for each network step (and for each wait on a log read from stdin)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l color -d 'When to use colours; auto: on a terminal, unless NO_COLOR is set or TERM is dumb' -r -f -a "auto\t''
always\t''
never\t''"
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -s y -l yes -d 'Accept every default and ask nothing that a flag, the environment or --env-file answers'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l write-read-only -d 'Let --write replace a read-only file (no owner write permission); the new file keeps that mode'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l login -d 'Run a real authorization-code login through a loopback listener and judge the ID token as RomM will (the wizard runs it without asking)'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l no-browser -d 'Do not open a browser; only print the URL to open'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -l pkce -d 'Add PKCE (S256) to the login; RomM itself sends none'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -s v -l verbose -d 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand wizard" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand explain" -l format -d 'How the findings are printed: text, json (see --json), or markdown to paste into a support thread' -r -f -a "text\t'A line per check, and what to do about each one not passing'
json\t'The report as one JSON object (README "The JSON report")'
markdown\t'Markdown to paste into a support thread, with versions and the env RomM reads, secrets removed'"
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand explain" -l timeout -d 'Seconds allowed for each network step (and for each wait on a log read from stdin)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand explain" -l color -d 'When to use colours; auto: on a terminal, unless NO_COLOR is set or TERM is dumb' -r -f -a "auto\t''
always\t''
never\t''"
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand explain" -l json -d 'Print the findings as JSON: the doctor\'s report without its verdict; the same as --format json'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand explain" -l redact-hosts -d 'Replace every host name, public IP address and email address in the output by a stable placeholder, as `doctor --redact-hosts` does'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand explain" -s v -l verbose -d 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand explain" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l env-file -d 'Read RomM\'s variables from this env file (docker compose .env rules)' -r -F
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l issuer -d 'The provider\'s issuer URL, e.g. Pocket ID\'s APP_URL (OIDC_SERVER_APPLICATION_URL)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l client-id -d 'The client id registered at the provider (OIDC_CLIENT_ID)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l client-secret -d 'The client secret (OIDC_CLIENT_SECRET); prefer --client-secret-file, which stays out of shell history' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l client-secret-file -d 'Read the client secret from this file, or stdin for - (OIDC_CLIENT_SECRET); the line breaks that end the input are ignored, any other white space is part of the secret' -r -F
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l redirect-uri -d 'The callback URL, <RomM URL>/api/oauth/openid (OIDC_REDIRECT_URI)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l romm-url -d 'RomM\'s public base URL, as users open it; gives the callback URL when --redirect-uri is absent' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l provider -d 'The provider label, whose icon RomM shows [default: pocket-id] (OIDC_PROVIDER)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l ca-file -d 'PEM CA file that RomM gets as OIDC_TLS_CACERTFILE' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l metadata-url -d 'Full discovery URL, used verbatim instead of the derived one (OIDC_SERVER_METADATA_URL)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l username-attribute -d 'ID-token claim used as the username of new accounts (OIDC_USERNAME_ATTRIBUTE)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l claim-roles -d 'Top-level ID-token claim that holds roles or groups (OIDC_CLAIM_ROLES)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l role-admin -d 'The roles-claim value that grants Admin (OIDC_ROLE_ADMIN)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l role-editor -d 'The roles-claim value that grants Editor/User access (OIDC_ROLE_EDITOR)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l role-viewer -d 'The roles-claim value that grants Viewer/User access; * for anyone with the claim (OIDC_ROLE_VIEWER)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l pocket-id-api-key -d 'A Pocket ID admin API key, to read the client and users instead of guessing (optional)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l pocket-id-api-key-file -d 'Read the Pocket ID admin API key from this file, or stdin for -' -r -F
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l format -d 'Output format' -r -f -a "dotenv\t'KEY=\'value\' lines for a .env file (docker compose and POSIX sh read them alike)'
compose\t'An `environment:` mapping to paste under the RomM service in compose.yaml'
shell\t'`export KEY=\'value\'` lines for a POSIX shell'
json\t'A JSON object'"
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l write -d 'Merge into this env file instead of printing: OIDC lines replaced in place, others kept byte for byte' -r -F
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l timeout -d 'Seconds allowed for each network step (and for each wait on a log read from stdin)' -r
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l color -d 'When to use colours; auto: on a terminal, unless NO_COLOR is set or TERM is dumb' -r -f -a "auto\t''
always\t''
never\t''"
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l force -d 'Print the block even when a check fails'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -l write-read-only -d 'Let --write replace a read-only file (no owner write permission); the new file keeps that mode'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -s v -l verbose -d 'Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand emit-env" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand help; and not __fish_seen_subcommand_from doctor wizard explain emit-env help" -f -a "doctor" -d 'Check the settings, the provider and the running RomM, and say what to change'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand help; and not __fish_seen_subcommand_from doctor wizard explain emit-env help" -f -a "wizard" -d 'Set up RomM\'s OIDC login step by step, checking each answer'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand help; and not __fish_seen_subcommand_from doctor wizard explain emit-env help" -f -a "explain" -d 'Read RomM\'s log and explain every OIDC login failure in it'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand help; and not __fish_seen_subcommand_from doctor wizard explain emit-env help" -f -a "emit-env" -d 'Print the env block RomM needs (or merge it into an env file with --write)'
complete -c romm-oidc -n "__fish_romm_oidc_using_subcommand help; and not __fish_seen_subcommand_from doctor wizard explain emit-env help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
