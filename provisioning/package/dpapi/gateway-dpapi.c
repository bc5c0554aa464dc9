/*
 * gateway-dpapi.exe protect|unprotect: the agent's DPAPI (machine scope), what .NET's ProtectedData does for the
 * PowerShell module (powershell/DicomGateway/Private/Windows/Dpapi.ps1), so either opens what the other stored.
 *
 * Why a program of its own: Node cannot call CryptProtectData, and Windows PowerShell costs a second or more per
 * call and is absent where the packaged agent is tested (Wine). Values travel on standard input and output only
 * (never the command line, which every user can read): one "name<TAB>base64" line each, in and out; protect takes
 * the clear text in base64, unprotect gives it back the same way. The name, prefixed "DicomGateway:", is the
 * entropy: a value cannot be moved to another name. Exit 0 with every line answered, else 1 with a reason on
 * standard error (never a value).
 */
#include <windows.h>
#include <wincrypt.h>
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUT (1 << 20)

static int fail(const char *what, const char *name) {
  fprintf(stderr, "gateway-dpapi: %s%s%s (Windows error %lu)\n", what, name ? " for " : "", name ? name : "", (unsigned long)GetLastError());
  return 1;
}

static BYTE *from_base64(const char *text, DWORD *length) {
  DWORD size = 0;
  if (!CryptStringToBinaryA(text, 0, CRYPT_STRING_BASE64, NULL, &size, NULL, NULL)) return NULL;
  BYTE *bytes = malloc(size ? size : 1);
  if (bytes && !CryptStringToBinaryA(text, 0, CRYPT_STRING_BASE64, bytes, &size, NULL, NULL)) {
    free(bytes);
    return NULL;
  }
  *length = size;
  return bytes;
}

static char *to_base64(const BYTE *bytes, DWORD length) {
  DWORD size = 0;
  DWORD flags = CRYPT_STRING_BASE64 | CRYPT_STRING_NOCRLF;
  if (!CryptBinaryToStringA(bytes, length, flags, NULL, &size)) return NULL;
  char *text = malloc(size);
  if (text && !CryptBinaryToStringA(bytes, length, flags, text, &size)) {
    free(text);
    return NULL;
  }
  return text;
}

int main(int argc, char **argv) {
  int protect = argc == 2 && strcmp(argv[1], "protect") == 0;
  if (argc != 2 || (!protect && strcmp(argv[1], "unprotect") != 0)) {
    fprintf(stderr, "usage: gateway-dpapi protect|unprotect < \"name<TAB>base64\" lines\n");
    return 2;
  }
  _setmode(_fileno(stdin), _O_BINARY);
  _setmode(_fileno(stdout), _O_BINARY);
  char *input = malloc(MAX_INPUT + 1);
  if (!input) return fail("out of memory", NULL);
  size_t used = fread(input, 1, MAX_INPUT + 1, stdin);
  if (used > MAX_INPUT) return fail("input over 1 MiB", NULL);
  input[used] = '\0';

  for (char *line = strtok(input, "\r\n"); line; line = strtok(NULL, "\r\n")) {
    char *tab = strchr(line, '\t');
    if (!tab) return fail("a line without a tab", NULL);
    *tab = '\0';
    const char *name = line;
    DWORD length = 0;
    BYTE *bytes = from_base64(tab + 1, &length);
    if (!bytes) return fail("not base64", name);

    char entropy_text[512];
    int entropy_length = snprintf(entropy_text, sizeof entropy_text, "DicomGateway:%s", name);
    if (entropy_length < 0 || entropy_length >= (int)sizeof entropy_text) return fail("name too long", NULL);
    DATA_BLOB in = {length, bytes};
    DATA_BLOB entropy = {(DWORD)entropy_length, (BYTE *)entropy_text};
    DATA_BLOB out = {0, NULL};
    BOOL done = protect ? CryptProtectData(&in, L"", &entropy, NULL, NULL, CRYPTPROTECT_UI_FORBIDDEN | CRYPTPROTECT_LOCAL_MACHINE, &out)
                        : CryptUnprotectData(&in, NULL, &entropy, NULL, NULL, CRYPTPROTECT_UI_FORBIDDEN, &out);
    SecureZeroMemory(bytes, length);
    free(bytes);
    if (!done) return fail(protect ? "CryptProtectData failed" : "CryptUnprotectData failed", name);
    char *text = to_base64(out.pbData, out.cbData);
    SecureZeroMemory(out.pbData, out.cbData);
    LocalFree(out.pbData);
    if (!text) return fail("base64 encoding failed", name);
    printf("%s\t%s\n", name, text);
    SecureZeroMemory(text, strlen(text));
    free(text);
  }
  SecureZeroMemory(input, used);
  return fflush(stdout) == 0 ? 0 : fail("cannot write standard output", NULL);
}
