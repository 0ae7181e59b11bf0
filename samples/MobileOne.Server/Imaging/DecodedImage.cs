namespace MobileOne.Server.Imaging;

/// <summary>A decoded image: interleaved RGB bytes, <c>Width * 3</c> bytes a row.</summary>
/// <param name="Rgb">The pixels, RGB24.</param>
/// <param name="Width">The width in pixels.</param>
/// <param name="Height">The height in pixels.</param>
public sealed record DecodedImage(byte[] Rgb, int Width, int Height);
