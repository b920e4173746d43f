/* <tchar.h> for Windows sources built against libvirtualwin: the generic-text
 * names the memory examples use (_T, _TEXT, _TCHAR, _tmain, _tprintf,
 * _ftprintf), following _UNICODE as in the CRT (wide: the wchar_t
 * functions, 4-byte characters here). */
#ifndef VIRTUALWIN_COMPAT_TCHAR_H
#define VIRTUALWIN_COMPAT_TCHAR_H
#include <stdio.h>
#include <wchar.h>

#ifdef _UNICODE
typedef wchar_t _TCHAR;
#define __T(x) L##x
#define _tmain wmain
#define _tprintf wprintf
#define _ftprintf fwprintf
#else
typedef char _TCHAR;
#define __T(x) x
#define _tmain main
#define _tprintf printf
#define _ftprintf fprintf
#endif
#define _T(x) __T(x)
#define _TEXT(x) __T(x)

#endif
