# Start-menu shortcut wrappers. Windows shows a desktop program's toasts only when a Start-menu
# shortcut carries the AppUserModelID it notifies with; WScript.Shell cannot set that property,
# so the shortcut's IPropertyStore is reached through a few COM declarations compiled on first use.

$script:DgwShortcutInterop = @'
using System;
using System.Runtime.InteropServices;

namespace DicomGatewayInterop
{
    [ComImport, Guid("886D8EEB-8CF2-4446-8D02-CDBA1DBDCF99"), InterfaceType(ComInterfaceType.InterfaceIsIUnknown)]
    public interface IPropertyStore
    {
        [PreserveSig] int GetCount(out uint count);
        [PreserveSig] int GetAt(uint index, out PropertyKey key);
        [PreserveSig] int GetValue(ref PropertyKey key, out PropVariant value);
        [PreserveSig] int SetValue(ref PropertyKey key, ref PropVariant value);
        [PreserveSig] int Commit();
    }

    [ComImport, Guid("0000010b-0000-0000-C000-000000000046"), InterfaceType(ComInterfaceType.InterfaceIsIUnknown)]
    public interface IPersistFile
    {
        [PreserveSig] int GetClassID(out Guid classId);
        [PreserveSig] int IsDirty();
        [PreserveSig] int Load([MarshalAs(UnmanagedType.LPWStr)] string fileName, uint mode);
        [PreserveSig] int Save([MarshalAs(UnmanagedType.LPWStr)] string fileName, [MarshalAs(UnmanagedType.Bool)] bool remember);
        [PreserveSig] int SaveCompleted([MarshalAs(UnmanagedType.LPWStr)] string fileName);
        [PreserveSig] int GetCurFile([MarshalAs(UnmanagedType.LPWStr)] out string fileName);
    }

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct PropertyKey
    {
        public Guid FormatId;
        public uint PropertyId;
    }

    // PROPVARIANT: 16 bytes on x86 and x64; only VT_LPWSTR is used here.
    [StructLayout(LayoutKind.Explicit, Size = 16)]
    public struct PropVariant
    {
        [FieldOffset(0)] public ushort VarType;
        [FieldOffset(8)] public IntPtr Pointer;
    }

    [ComImport, Guid("00021401-0000-0000-C000-000000000046")]
    public class ShellLink { }

    public static class ShortcutAppUserModelId
    {
        private const ushort VT_LPWSTR = 31;
        // PKEY_AppUserModel_ID (propkey.h)
        private static PropertyKey Key() { return new PropertyKey { FormatId = new Guid("9F4C2855-9F79-4B39-A8D0-E1D42DE1D5F3"), PropertyId = 5 }; }

        [DllImport("ole32.dll")]
        private static extern int PropVariantClear(ref PropVariant value);

        public static void Set(string path, string appUserModelId)
        {
            object link = new ShellLink();
            try
            {
                IPersistFile file = (IPersistFile)link;
                Marshal.ThrowExceptionForHR(file.Load(path, 2));
                PropertyKey key = Key();
                PropVariant value = new PropVariant { VarType = VT_LPWSTR, Pointer = Marshal.StringToCoTaskMemUni(appUserModelId) };
                try
                {
                    Marshal.ThrowExceptionForHR(((IPropertyStore)link).SetValue(ref key, ref value));
                    Marshal.ThrowExceptionForHR(((IPropertyStore)link).Commit());
                }
                finally { PropVariantClear(ref value); }
                Marshal.ThrowExceptionForHR(file.Save(path, true));
            }
            finally { Marshal.ReleaseComObject(link); }
        }

        public static string Get(string path)
        {
            object link = new ShellLink();
            try
            {
                Marshal.ThrowExceptionForHR(((IPersistFile)link).Load(path, 0));
                PropertyKey key = Key();
                PropVariant value;
                Marshal.ThrowExceptionForHR(((IPropertyStore)link).GetValue(ref key, out value));
                try { return value.VarType == VT_LPWSTR ? Marshal.PtrToStringUni(value.Pointer) : null; }
                finally { PropVariantClear(ref value); }
            }
            finally { Marshal.ReleaseComObject(link); }
        }
    }
}
'@

function Initialize-DgwShortcutInterop {
    [CmdletBinding()]
    param()

    if (-not ('DicomGatewayInterop.ShortcutAppUserModelId' -as [type])) { Add-Type -TypeDefinition $script:DgwShortcutInterop -ErrorAction Stop }
}

function Get-DgwShortcut {
    # $null when there is no shortcut at Path.
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [string]$Path
    )

    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) { return $null }
    Initialize-DgwShortcutInterop
    $shortcut = (New-Object -ComObject WScript.Shell).CreateShortcut($Path)
    [pscustomobject]@{
        Path             = $Path
        Target           = [string]$shortcut.TargetPath
        Arguments        = [string]$shortcut.Arguments
        WorkingDirectory = [string]$shortcut.WorkingDirectory
        AppUserModelId   = [string][DicomGatewayInterop.ShortcutAppUserModelId]::Get($Path)
    }
}

function Set-DgwShortcut {
    # Writes the shortcut (replacing one there), then its AppUserModelID.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [object]$Definition
    )

    Initialize-DgwShortcutInterop
    $folder = Split-Path -Path $Definition.Path -Parent
    if (-not (Test-Path -LiteralPath $folder)) { $null = New-Item -Path $folder -ItemType Directory -Force }
    $shortcut = (New-Object -ComObject WScript.Shell).CreateShortcut($Definition.Path)
    $shortcut.TargetPath = $Definition.Target
    $shortcut.Arguments = $Definition.Arguments
    $shortcut.WorkingDirectory = $Definition.WorkingDirectory
    $shortcut.Description = $Definition.Description
    $shortcut.Save()
    [DicomGatewayInterop.ShortcutAppUserModelId]::Set($Definition.Path, $Definition.AppUserModelId)
}

function Remove-DgwShortcut {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [string]$Path
    )

    Remove-Item -LiteralPath $Path -Force -ErrorAction Stop
}
