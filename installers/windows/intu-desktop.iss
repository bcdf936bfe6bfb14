; Inno Setup 6 script for intu Desktop (one setup .exe for 64-bit Windows 10/11).
;
; Built by installers\windows\build.ps1, which passes:
;   /DAppVersion=<intu_desktop.__version__>  /DDistDir=<folder holding intu-desktop\>
; By hand:  ISCC.exe /DAppVersion=0.1.0 /DDistDir=..\..\build\windows\dist intu-desktop.iss
;
; What it does:
; - installs the PyInstaller folder into Program Files (or the user's folder when the user
;   chooses "install for me only": no administrator rights, no firewall rule);
; - Start menu entry (and an optional desktop icon) for intu-desktop.exe, the windowed program;
;   intu-desktop-cli.exe is the same program for terminals (validate, --headless, echo, send);
; - optional: a Windows Firewall rule that lets modalities reach the DICOM port (asked on a
;   wizard page; 4104 is the default project's port), start at sign-in, `intu-desktop-cli` on
;   PATH;
; - uninstall removes the program, the firewall rule and the sign-in entry, and keeps received
;   data unless the user answers Yes to deleting it (a silent uninstall never deletes it).

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef DistDir
  #define DistDir "..\..\build\windows\dist"
#endif
#define AppName "intu Desktop"
#define AppExe "intu-desktop.exe"
#define CliExe "intu-desktop-cli.exe"
#define FirewallRule "intu Desktop (DICOM)"
; platformdirs' user data and config folder on Windows (appauthor=False): %LOCALAPPDATA%\intu-desktop
#define DataFolder "{localappdata}\intu-desktop"

[Setup]
; Never change AppId: upgrades and uninstall find the installed copy by it.
AppId={{6B1F4C2E-3D7A-4F0B-9C55-2A8E1D4B7C90}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=intu
AppPublisherURL=https://intu.dev
VersionInfoVersion={#AppVersion}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=admin
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
SetupIconFile=..\..\resources\icons\intu-desktop.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
WizardStyle=modern
Compression=lzma2/max
SolidCompression=yes
; A running intu Desktop holds its files open: offer to close it (Restart Manager).
CloseApplications=yes
RestartApplications=no
ChangesEnvironment=yes
OutputBaseFilename=intu-desktop-{#AppVersion}-setup
OutputDir=..\..\build\windows

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "firewall"; Description: "Allow DICOM senders through Windows Firewall (port chosen on the next page)"; GroupDescription: "Network:"; Check: IsAdminInstallMode
Name: "startup"; Description: "Start {#AppName} when I sign in"; GroupDescription: "Start:"; Flags: unchecked
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "addtopath"; Description: "Add intu-desktop-cli to PATH (for scripts and terminals)"; GroupDescription: "Command line:"; Flags: unchecked

[Files]
Source: "{#DistDir}\intu-desktop\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; Tasks: desktopicon

[Registry]
; Start at sign-in, for the user who installs (HKCU even in an administrator install).
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: string; ValueName: "{#AppName}"; ValueData: """{app}\{#AppExe}"""; Flags: uninsdeletevalue; Tasks: startup
Root: HKA; Subkey: "{code:EnvironmentKey}"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Check: NeedsAddPath(ExpandConstant('{app}')); Tasks: addtopath

[Run]
Filename: "{sys}\netsh.exe"; Parameters: "advfirewall firewall delete rule name=""{#FirewallRule}"""; Flags: runhidden; Tasks: firewall
Filename: "{sys}\netsh.exe"; Parameters: "advfirewall firewall add rule name=""{#FirewallRule}"" dir=in action=allow protocol=TCP localport={code:FirewallPort} program=""{app}\{#AppExe}"" profile=domain,private"; Flags: runhidden; Tasks: firewall; StatusMsg: "Adding the Windows Firewall rule..."
Filename: "{sys}\netsh.exe"; Parameters: "advfirewall firewall add rule name=""{#FirewallRule}"" dir=in action=allow protocol=TCP localport={code:FirewallPort} program=""{app}\{#CliExe}"" profile=domain,private"; Flags: runhidden; Tasks: firewall
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallRun]
Filename: "{sys}\netsh.exe"; Parameters: "advfirewall firewall delete rule name=""{#FirewallRule}"""; Flags: runhidden; RunOnceId: "DeleteFirewallRule"

[Code]
var
  PortPage: TInputQueryWizardPage;

function EnvironmentKey(Param: String): String;
begin
  if IsAdminInstallMode then
    Result := 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment'
  else
    Result := 'Environment';
end;

function NeedsAddPath(Dir: String): Boolean;
var
  Current: String;
  Root: Integer;
begin
  if IsAdminInstallMode then Root := HKEY_LOCAL_MACHINE else Root := HKEY_CURRENT_USER;
  if not RegQueryStringValue(Root, EnvironmentKey(''), 'Path', Current) then
  begin
    Result := True;
    exit;
  end;
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Current) + ';') = 0;
end;

procedure InitializeWizard;
begin
  PortPage := CreateInputQueryPage(wpSelectTasks,
    'DICOM port', 'Which TCP port do modalities send to?',
    'The Windows Firewall rule opens this port for intu Desktop only, on domain and private ' +
    'networks. The default project listens on 4104; use the port of your channel if you changed it.');
  PortPage.Add('Port (1-65535):', False);
  PortPage.Values[0] := GetPreviousData('FirewallPort', '4104');
end;

function ShouldSkipPage(PageID: Integer): Boolean;
begin
  Result := (PageID = PortPage.ID) and not WizardIsTaskSelected('firewall');
end;

function NextButtonClick(CurPageID: Integer): Boolean;
var
  Port: Integer;
begin
  Result := True;
  if CurPageID = PortPage.ID then
  begin
    Port := StrToIntDef(Trim(PortPage.Values[0]), 0);
    if (Port < 1) or (Port > 65535) then
    begin
      MsgBox('Enter a port number between 1 and 65535.', mbError, MB_OK);
      Result := False;
    end;
  end;
end;

procedure RegisterPreviousData(PreviousDataKey: Integer);
begin
  SetPreviousData(PreviousDataKey, 'FirewallPort', PortPage.Values[0]);
end;

function FirewallPort(Param: String): String;
begin
  Result := IntToStr(StrToIntDef(Trim(PortPage.Values[0]), 4104));
end;

procedure RemoveFromPath(Dir: String);
var
  Current, Updated: String;
  Root, P: Integer;
begin
  if IsAdminInstallMode then Root := HKEY_LOCAL_MACHINE else Root := HKEY_CURRENT_USER;
  if not RegQueryStringValue(Root, EnvironmentKey(''), 'Path', Current) then exit;
  Updated := ';' + Current + ';';
  P := Pos(';' + Uppercase(Dir) + ';', Uppercase(Updated));
  if P = 0 then exit;
  Delete(Updated, P, Length(Dir) + 1);
  Updated := Copy(Updated, 2, Length(Updated) - 2);
  RegWriteExpandStringValue(Root, EnvironmentKey(''), 'Path', Updated);
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  DataDir: String;
begin
  if CurUninstallStep = usUninstall then
    RemoveFromPath(ExpandConstant('{app}'));
  if CurUninstallStep <> usPostUninstall then exit;
  // Received images are patient data: they stay unless the user says otherwise, and a
  // silent uninstall (/SILENT, /VERYSILENT) always keeps them (the default answer is No).
  DataDir := ExpandConstant('{#DataFolder}');
  if not DirExists(DataDir) then exit;
  if SuppressibleMsgBox('Also delete the received images, the index, the logs and the default ' +
      'project in' + #13#10 + DataDir + '?' + #13#10#13#10 +
      'Choose No to keep them for a later installation.',
      mbConfirmation, MB_YESNO or MB_DEFBUTTON2, IDNO) = IDYES then
  begin
    if not DelTree(DataDir, True, True, True) then
      MsgBox('Some files in ' + DataDir + ' could not be deleted.', mbError, MB_OK);
  end;
end;
