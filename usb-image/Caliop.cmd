@echo off
rem Caliop Key launcher for Windows: double-click it, or run it from a command prompt.
rem It runs the stick's own caliop with --stick pointing at this folder ("%~dp0." keeps
rem "E:\." valid when the stick is a drive root). Nothing is copied to this computer.
setlocal
set "STICK=%~dp0."
"%STICK%\caliop-win-x64.exe" --stick "%STICK%" %*
set "STATUS=%ERRORLEVEL%"
if "%~1"=="" if not "%STATUS%"=="0" pause
exit /b %STATUS%
