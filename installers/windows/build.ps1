<#
.SYNOPSIS
  Builds intu Desktop for Windows: the PyInstaller folder, then the Inno Setup installer.

.DESCRIPTION
  Run from any folder in PowerShell 5.1 or 7:
    powershell -ExecutionPolicy Bypass -File installers\windows\build.ps1
  Needs: Python 3.11+ (64-bit, from python.org: the `py` launcher), Node.js 18+ with npm,
  Inno Setup 6 (ISCC.exe on PATH or in its default folder).
  Produces build\windows\dist\intu-desktop\ and build\windows\intu-desktop-<version>-setup.exe.

.PARAMETER BuildDir
  Where the venv, PyInstaller's work files, dist\ and the setup .exe go.

.PARAMETER Python
  The interpreter that creates the build venv (default: `py -3.11`, else `python`).

.PARAMETER SkipInstaller
  Stop after the PyInstaller folder.

.PARAMETER SignCommand
  Optional: a signtool command line to sign the executables and the installer, with `$f`
  standing for the file, for example:
    signtool sign /fd sha256 /tr http://timestamp.digicert.com /td sha256 /a $f
#>
[CmdletBinding()]
param(
  [string]$BuildDir = "",
  [string]$Python = "",
  [switch]$SkipInstaller,
  [string]$SignCommand = ""
)

$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest

$Repo = (Resolve-Path (Join-Path $PSScriptRoot "..\..")).Path
if (-not $BuildDir) { $BuildDir = Join-Path $Repo "build\windows" }
New-Item -ItemType Directory -Force -Path $BuildDir | Out-Null
$BuildDir = (Resolve-Path $BuildDir).Path

function Say([string]$Text) { Write-Host "== $Text" }
function Invoke-Checked([string]$Exe, [string[]]$Arguments) {
  & $Exe @Arguments
  if ($LASTEXITCODE -ne 0) { throw "$Exe $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}
function Invoke-Sign([string]$File) {
  if (-not $SignCommand) { return }
  $line = $SignCommand.Replace('$f', "`"$File`"")
  Say "signing $File"
  cmd /c $line
  if ($LASTEXITCODE -ne 0) { throw "signing $File failed" }
}

$InitPy = Get-Content (Join-Path $Repo "intu_desktop\__init__.py") -Raw
if ($InitPy -notmatch '(?m)^__version__ = "([^"]+)"') { throw "no __version__ in intu_desktop\__init__.py" }
$Version = $Matches[1]
Say "intu Desktop $Version: building in $BuildDir"

# -- 1. build environment -------------------------------------------------------------------
$Venv = Join-Path $BuildDir "venv"
$VenvPython = Join-Path $Venv "Scripts\python.exe"
if (-not (Test-Path $VenvPython)) {
  Say "creating the build venv"
  if ($Python) {
    Invoke-Checked $Python @("-m", "venv", $Venv)
  } elseif (Get-Command py -ErrorAction SilentlyContinue) {
    Invoke-Checked "py" @("-3.11", "-m", "venv", $Venv)
  } else {
    Invoke-Checked "python" @("-m", "venv", $Venv)
  }
}
$env:PIP_DISABLE_PIP_VERSION_CHECK = "1"
Say "installing the app's dependencies and PyInstaller"
Invoke-Checked $VenvPython @("-m", "pip", "install", "-q", $Repo, "pyinstaller>=6.10,<7")

# -- 2. the TypeScript transpiler the pipeline ships -----------------------------------------
Say "npm ci (TypeScript transpiler)"
Invoke-Checked "npm.cmd" @("ci", "--prefix", (Join-Path $Repo "intu_desktop\pipeline\node"),
  "--no-audit", "--no-fund", "--loglevel=error")

# -- 3. the PyInstaller folder ----------------------------------------------------------------
Say "PyInstaller"
$Dist = Join-Path $BuildDir "dist"
$Bundle = Join-Path $Dist "intu-desktop"
if (Test-Path $Bundle) { Remove-Item -Recurse -Force $Bundle }
Push-Location $BuildDir
try {
  Invoke-Checked $VenvPython @("-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
    "--distpath", $Dist, "--workpath", (Join-Path $BuildDir "work"),
    (Join-Path $Repo "installers\intu-desktop.spec"))
} finally {
  Pop-Location
}
$Reported = & (Join-Path $Bundle "intu-desktop-cli.exe") --version
if ($Reported -ne "intu-desktop $Version") { throw "the bundle reports '$Reported', expected $Version" }
Invoke-Sign (Join-Path $Bundle "intu-desktop.exe")
Invoke-Sign (Join-Path $Bundle "intu-desktop-cli.exe")
Write-Host "bundle: $Bundle"
if ($SkipInstaller) { return }

# -- 4. the installer -------------------------------------------------------------------------
$Iscc = (Get-Command ISCC.exe -ErrorAction SilentlyContinue)
if ($Iscc) { $Iscc = $Iscc.Source } else {
  $Iscc = Join-Path ${env:ProgramFiles(x86)} "Inno Setup 6\ISCC.exe"
  if (-not (Test-Path $Iscc)) { throw "Inno Setup 6 is not installed (ISCC.exe not found)" }
}
Say "Inno Setup"
Invoke-Checked $Iscc @("/Q", "/DAppVersion=$Version", "/DDistDir=$Dist", "/O$BuildDir",
  (Join-Path $Repo "installers\windows\intu-desktop.iss"))
$Setup = Join-Path $BuildDir "intu-desktop-$Version-setup.exe"
Invoke-Sign $Setup
Write-Host "installer: $Setup"
