/* <Windows.h>, the spelling some Windows sources use on case-insensitive file
 * systems; the same as <windows.h>. */
#include "windows.h"
